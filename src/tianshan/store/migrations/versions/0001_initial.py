"""Initial schema: events with origin/magnitude histories, picks, amplitudes, stations, products, alerts.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 03:04:32.340707
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tianshan.store.types import UTCDateTime

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('event_id', sa.String(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('origin_time', UTCDateTime(), nullable=False),
    sa.Column('latitude_deg', sa.Double(), nullable=False),
    sa.Column('longitude_deg', sa.Double(), nullable=False),
    sa.Column('depth_m', sa.Double(), nullable=False),
    sa.Column('magnitude', sa.Double(), nullable=False),
    sa.Column('magnitude_uncertainty', sa.Double(), nullable=True),
    sa.Column('level', sa.String(), nullable=False),
    sa.Column('message_zh', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('test', sa.Boolean(), nullable=False),
    sa.Column('issued_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('event_id', 'sequence', name=op.f('uq_alerts_event_id_sequence'))
    )
    op.create_index(op.f('ix_alerts_issued_at'), 'alerts', ['issued_at'], unique=False)

    op.create_table('amplitudes',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('network', sa.String(), nullable=False),
    sa.Column('station', sa.String(), nullable=False),
    sa.Column('location', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('time', UTCDateTime(), nullable=True),
    sa.Column('period_s', sa.Double(), nullable=True),
    sa.Column('snr', sa.Double(), nullable=True),
    sa.Column('pick_id', sa.String(), nullable=True),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('evaluation_mode', sa.String(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_amplitudes'))
    )
    op.create_table('events',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('type', sa.String(), nullable=True),
    sa.Column('type_certainty', sa.String(), nullable=True),
    sa.Column('preferred_origin_id', sa.String(), nullable=True),
    sa.Column('preferred_magnitude_id', sa.String(), nullable=True),
    sa.Column('region_name', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('pref_time', UTCDateTime(), nullable=True),
    sa.Column('pref_latitude_deg', sa.Double(), nullable=True),
    sa.Column('pref_longitude_deg', sa.Double(), nullable=True),
    sa.Column('pref_depth_m', sa.Double(), nullable=True),
    sa.Column('pref_magnitude', sa.Double(), nullable=True),
    sa.Column('pref_magnitude_type', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index(op.f('ix_events_pref_magnitude'), 'events', ['pref_magnitude'], unique=False)
    op.create_index(op.f('ix_events_pref_time'), 'events', ['pref_time'], unique=False)

    op.create_table('picks',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('network', sa.String(), nullable=False),
    sa.Column('station', sa.String(), nullable=False),
    sa.Column('location', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('time', UTCDateTime(), nullable=False),
    sa.Column('phase', sa.String(), nullable=False),
    sa.Column('time_uncertainty_s', sa.Double(), nullable=True),
    sa.Column('polarity', sa.String(), nullable=True),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('probability', sa.Double(), nullable=True),
    sa.Column('evaluation_mode', sa.String(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_picks'))
    )
    op.create_index('ix_picks_station_time', 'picks', ['network', 'station', 'time'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(), nullable=False),
    sa.Column('event_id', sa.String(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(), nullable=True),
    sa.Column('properties', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    op.create_index('ix_products_event_kind', 'products', ['event_id', 'kind'], unique=False)

    op.create_table('stations',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('network', sa.String(), nullable=False),
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('latitude_deg', sa.Double(), nullable=False),
    sa.Column('longitude_deg', sa.Double(), nullable=False),
    sa.Column('elevation_m', sa.Double(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('start', UTCDateTime(), nullable=True),
    sa.Column('end', UTCDateTime(), nullable=True),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_stations'))
    )
    op.create_index('ix_stations_network_code', 'stations', ['network', 'code'], unique=False)

    op.create_table('alert_targets',
    sa.Column('alert_id', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('place', sa.Text(), nullable=False),
    sa.Column('latitude_deg', sa.Double(), nullable=False),
    sa.Column('longitude_deg', sa.Double(), nullable=False),
    sa.Column('intensity', sa.Double(), nullable=False),
    sa.Column('warning_time_s', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_targets_alert_id_alerts')),
    sa.PrimaryKeyConstraint('alert_id', 'position', name=op.f('pk_alert_targets'))
    )
    op.create_table('channels',
    sa.Column('station_pk', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('latitude_deg', sa.Double(), nullable=False),
    sa.Column('longitude_deg', sa.Double(), nullable=False),
    sa.Column('elevation_m', sa.Double(), nullable=False),
    sa.Column('sample_rate_hz', sa.Double(), nullable=False),
    sa.Column('depth_m', sa.Double(), nullable=False),
    sa.Column('azimuth_deg', sa.Double(), nullable=False),
    sa.Column('dip_deg', sa.Double(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('gain_value', sa.Double(), nullable=True),
    sa.Column('gain_frequency_hz', sa.Double(), nullable=True),
    sa.Column('gain_input_units', sa.String(), nullable=True),
    sa.Column('gain_output_units', sa.String(), nullable=True),
    sa.Column('gain_response_ref', sa.String(), nullable=True),
    sa.Column('start', UTCDateTime(), nullable=True),
    sa.Column('end', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['station_pk'], ['stations.pk'], name=op.f('fk_channels_station_pk_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_pk', 'position', name=op.f('pk_channels'))
    )
    op.create_table('event_amplitudes',
    sa.Column('event_id', sa.String(), nullable=False),
    sa.Column('amplitude_id', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['amplitude_id'], ['amplitudes.id'], name=op.f('fk_event_amplitudes_amplitude_id_amplitudes')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_amplitudes_event_id_events')),
    sa.PrimaryKeyConstraint('event_id', 'amplitude_id', name=op.f('pk_event_amplitudes'))
    )
    op.create_index(op.f('ix_event_amplitudes_amplitude_id'), 'event_amplitudes', ['amplitude_id'], unique=False)

    op.create_table('event_picks',
    sa.Column('event_id', sa.String(), nullable=False),
    sa.Column('pick_id', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_picks_event_id_events')),
    sa.ForeignKeyConstraint(['pick_id'], ['picks.id'], name=op.f('fk_event_picks_pick_id_picks')),
    sa.PrimaryKeyConstraint('event_id', 'pick_id', name=op.f('pk_event_picks'))
    )
    op.create_index(op.f('ix_event_picks_pick_id'), 'event_picks', ['pick_id'], unique=False)

    op.create_table('magnitudes',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('event_id', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('origin_id', sa.String(), nullable=True),
    sa.Column('uncertainty', sa.Double(), nullable=True),
    sa.Column('station_count', sa.Integer(), nullable=True),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('evaluation_mode', sa.String(), nullable=False),
    sa.Column('evaluation_status', sa.String(), nullable=False),
    sa.Column('agency', sa.String(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_magnitudes_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_magnitudes')),
    sa.UniqueConstraint('event_id', 'type', 'version', name=op.f('uq_magnitudes_event_id_type_version'))
    )
    op.create_table('origins',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('event_id', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('time', UTCDateTime(), nullable=False),
    sa.Column('latitude_deg', sa.Double(), nullable=False),
    sa.Column('longitude_deg', sa.Double(), nullable=False),
    sa.Column('depth_m', sa.Double(), nullable=False),
    sa.Column('time_uncertainty_s', sa.Double(), nullable=True),
    sa.Column('horizontal_uncertainty_m', sa.Double(), nullable=True),
    sa.Column('depth_uncertainty_m', sa.Double(), nullable=True),
    sa.Column('ellipse_semi_major_m', sa.Double(), nullable=True),
    sa.Column('ellipse_semi_minor_m', sa.Double(), nullable=True),
    sa.Column('ellipse_azimuth_deg', sa.Double(), nullable=True),
    sa.Column('ellipse_confidence', sa.Double(), nullable=True),
    sa.Column('rms_s', sa.Double(), nullable=True),
    sa.Column('azimuthal_gap_deg', sa.Double(), nullable=True),
    sa.Column('phase_count', sa.Integer(), nullable=True),
    sa.Column('station_count', sa.Integer(), nullable=True),
    sa.Column('minimum_distance_deg', sa.Double(), nullable=True),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('earth_model', sa.Text(), nullable=False),
    sa.Column('depth_fixed', sa.Boolean(), nullable=False),
    sa.Column('evaluation_mode', sa.String(), nullable=False),
    sa.Column('evaluation_status', sa.String(), nullable=False),
    sa.Column('agency', sa.String(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_origins_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_origins')),
    sa.UniqueConstraint('event_id', 'version', name=op.f('uq_origins_event_id_version'))
    )
    op.create_table('arrivals',
    sa.Column('origin_id', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('pick_id', sa.String(), nullable=False),
    sa.Column('phase', sa.String(), nullable=False),
    sa.Column('distance_deg', sa.Double(), nullable=True),
    sa.Column('azimuth_deg', sa.Double(), nullable=True),
    sa.Column('takeoff_angle_deg', sa.Double(), nullable=True),
    sa.Column('time_residual_s', sa.Double(), nullable=True),
    sa.Column('time_weight', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['origin_id'], ['origins.id'], name=op.f('fk_arrivals_origin_id_origins')),
    sa.PrimaryKeyConstraint('origin_id', 'position', name=op.f('pk_arrivals'))
    )
    op.create_index(op.f('ix_arrivals_pick_id'), 'arrivals', ['pick_id'], unique=False)

    op.create_table('station_magnitudes',
    sa.Column('magnitude_id', sa.String(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('network', sa.String(), nullable=False),
    sa.Column('station', sa.String(), nullable=False),
    sa.Column('location', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('amplitude_id', sa.String(), nullable=True),
    sa.Column('residual', sa.Double(), nullable=True),
    sa.Column('weight', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['magnitude_id'], ['magnitudes.id'], name=op.f('fk_station_magnitudes_magnitude_id_magnitudes')),
    sa.PrimaryKeyConstraint('magnitude_id', 'position', name=op.f('pk_station_magnitudes'))
    )
    op.create_index(op.f('ix_station_magnitudes_id'), 'station_magnitudes', ['id'], unique=False)



def downgrade() -> None:
    op.drop_index(op.f('ix_station_magnitudes_id'), table_name='station_magnitudes')

    op.drop_table('station_magnitudes')
    op.drop_index(op.f('ix_arrivals_pick_id'), table_name='arrivals')

    op.drop_table('arrivals')
    op.drop_table('origins')
    op.drop_table('magnitudes')
    op.drop_index(op.f('ix_event_picks_pick_id'), table_name='event_picks')

    op.drop_table('event_picks')
    op.drop_index(op.f('ix_event_amplitudes_amplitude_id'), table_name='event_amplitudes')

    op.drop_table('event_amplitudes')
    op.drop_table('channels')
    op.drop_table('alert_targets')
    op.drop_index('ix_stations_network_code', table_name='stations')

    op.drop_table('stations')
    op.drop_index('ix_products_event_kind', table_name='products')

    op.drop_table('products')
    op.drop_index('ix_picks_station_time', table_name='picks')

    op.drop_table('picks')
    op.drop_index(op.f('ix_events_pref_time'), table_name='events')
    op.drop_index(op.f('ix_events_pref_magnitude'), table_name='events')

    op.drop_table('events')
    op.drop_table('amplitudes')
    op.drop_index(op.f('ix_alerts_issued_at'), table_name='alerts')

    op.drop_table('alerts')
