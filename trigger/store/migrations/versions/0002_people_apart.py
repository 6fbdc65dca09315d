"""the victim's own contact, the meeting's place, how each relevant body was told

Revision ID: 0002_people_apart
Revises: 0001_initial
Create Date: 2026-12-06 20:45:00

The applicant's contact (address, postcode, e-mail, telephone) stays where it was; the victim's, when
a third party applies, gets its own columns. A meeting gets where and how to join and a reply-by day.
A notice to a relevant body (s.104(3)) says how it was passed on.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel.sql.sqltypes.AutoString; Alembic's template lacks this import


# revision identifiers, used by Alembic.
revision: str = '0002_people_apart'
down_revision: Union[str, Sequence[str], None] = '0001_initial'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('victim_address', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('victim_postcode', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('victim_email', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('victim_phone', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('link', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('reply_by', sa.Date(), nullable=True))
    with op.batch_alter_table('partner_notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('partner_notification', schema=None) as batch_op:
        batch_op.drop_column('method')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('reply_by')
        batch_op.drop_column('phone')
        batch_op.drop_column('link')
        batch_op.drop_column('place')
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.drop_column('victim_phone')
        batch_op.drop_column('victim_email')
        batch_op.drop_column('victim_postcode')
        batch_op.drop_column('victim_address')
