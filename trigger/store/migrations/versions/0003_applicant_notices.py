"""the applicant told that their case changed, and their choice to stop it

Revision ID: 0003_applicant_notices
Revises: 0002_people_apart
Create Date: 2026-12-06 21:15:00

Each change to a case that moves its stage or issues a letter to the applicant makes an
`applicant_notice`, sent once by the reminder sweep; `review_case.notices` is off when the applicant
asked for none (docs/operations.md#telling-the-applicant).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString; Alembic's template lacks this import


# revision identifiers, used by Alembic.
revision: str = '0003_applicant_notices'
down_revision: Union[str, Sequence[str], None] = '0002_people_apart'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notices', sa.Boolean(), server_default=sa.text('(true)'), nullable=False))
    op.create_table('applicant_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('letters', sa.Integer(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('send_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('claim_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('first_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('failure', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('outbox_file', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_applicant_notice_case_id_review_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applicant_notice'))
    )
    with op.batch_alter_table('applicant_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applicant_notice_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_applicant_notice_status_send_on', ['status', 'send_on'], unique=False)
        batch_op.create_index('ix_applicant_notice_status_recorded_at', ['status', 'recorded_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('applicant_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_applicant_notice_status_recorded_at')
        batch_op.drop_index('ix_applicant_notice_status_send_on')
        batch_op.drop_index(batch_op.f('ix_applicant_notice_case_id'))
    op.drop_table('applicant_notice')
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.drop_column('notices')
