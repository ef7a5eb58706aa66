"""QC records: waveform quality findings (gaps, overlaps, spikes, clipping, flat, sample rate, time tears).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tianshan.store.types import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qc_records',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('network', sa.String(), nullable=False),
    sa.Column('station', sa.String(), nullable=False),
    sa.Column('location', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('start', UTCDateTime(), nullable=False),
    sa.Column('end', UTCDateTime(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_qc_records')),
    sa.UniqueConstraint('network', 'station', 'location', 'channel', 'kind', 'start', 'end',
                        name=op.f('uq_qc_records_network_station_location_channel_kind_start_end'))
    )
    op.create_index('ix_qc_records_start', 'qc_records', ['start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_qc_records_start', table_name='qc_records')
    op.drop_table('qc_records')
