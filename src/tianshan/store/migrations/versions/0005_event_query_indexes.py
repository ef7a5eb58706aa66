"""Catalogue query indexes: (time, magnitude, latitude, longitude) and (magnitude, time) on ``events``.

fdsnws-event selects on ``pref_time``, ``pref_magnitude`` and the ``pref_*`` box and orders by
time (or magnitude). With the single-column indexes of 0001, a time-ordered scan looked every
row up in the table to test the magnitude and the box (1,000,000 events, SQLite: 0.4-0.7 s for
"M >= 5 over 20 years", ``benchmarks/bench_fdsn_store.py``). The composite index covers those
tests, so a time-ordered scan filters inside the index; ``(pref_magnitude, pref_time)`` serves
selective magnitude queries and the magnitude order. Both replace the single-column indexes
(same leading columns).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 11:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_events_time_mag_box', 'events',
                    ['pref_time', 'pref_magnitude', 'pref_latitude_deg', 'pref_longitude_deg'], unique=False)
    op.create_index('ix_events_mag_time', 'events', ['pref_magnitude', 'pref_time'], unique=False)
    op.drop_index('ix_events_pref_time', table_name='events')
    op.drop_index('ix_events_pref_magnitude', table_name='events')


def downgrade() -> None:
    op.create_index('ix_events_pref_magnitude', 'events', ['pref_magnitude'], unique=False)
    op.create_index('ix_events_pref_time', 'events', ['pref_time'], unique=False)
    op.drop_index('ix_events_mag_time', table_name='events')
    op.drop_index('ix_events_time_mag_box', table_name='events')
