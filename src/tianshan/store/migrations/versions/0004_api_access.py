"""REST API access control and records: bearer tokens (hashed), restrictions, event reviews, audit log;
an index on ``events.updated_at`` (the live feed polls changed events).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tianshan.store.types import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_events_updated_at'), 'events', ['updated_at'], unique=False)
    op.create_table('api_tokens',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('digest', sa.String(), nullable=False),
    sa.Column('user', sa.Text(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('digest', name=op.f('uq_api_tokens_digest'))
    )
    op.create_table('api_restrictions',
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key', name=op.f('pk_api_restrictions'))
    )
    op.create_table('event_reviews',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(), nullable=False),
    sa.Column('action', sa.String(), nullable=False),
    sa.Column('user', sa.Text(), nullable=False),
    sa.Column('time', UTCDateTime(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('origin_id', sa.String(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_event_reviews'))
    )
    op.create_index('ix_event_reviews_event_time', 'event_reviews', ['event_id', 'time'], unique=False)
    op.create_table('api_audit',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('time', UTCDateTime(), nullable=False),
    sa.Column('user', sa.Text(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('method', sa.String(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_api_audit'))
    )
    op.create_index(op.f('ix_api_audit_time'), 'api_audit', ['time'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_api_audit_time'), table_name='api_audit')
    op.drop_table('api_audit')
    op.drop_index('ix_event_reviews_event_time', table_name='event_reviews')
    op.drop_table('event_reviews')
    op.drop_table('api_restrictions')
    op.drop_table('api_tokens')
    op.drop_index(op.f('ix_events_updated_at'), table_name='events')
