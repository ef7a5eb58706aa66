"""Products made from events: quick reports (自动速报), bulletins, maps, loss reports."""
