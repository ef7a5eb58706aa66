"""Event timeline: the first wall/data time of each step of an event (real-time engine).

No foreign key to ``events``: a timeline row may precede its event row
(see :class:`tianshan.store.schema.TimelineRow`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tianshan.store.types import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_timeline',
    sa.Column('event_id', sa.String(), nullable=False),
    sa.Column('step', sa.String(), nullable=False),
    sa.Column('wall_time', UTCDateTime(), nullable=False),
    sa.Column('data_time', UTCDateTime(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'step', name=op.f('pk_event_timeline'))
    )


def downgrade() -> None:
    op.drop_table('event_timeline')
