"""paginate(): one shape for every list (total + rows), two statements whatever the size."""

from sqlalchemy import select

from chaintrack.common.pagination import Paged, PageParams, paginate
from chaintrack.models import Chain, MapNode
from tests.factories import make_chain, make_node


def _chain_with_nodes(db, n: int) -> Chain:
    chain = make_chain(db)
    for _ in range(n):
        make_node(db, chain)
    db.flush()
    return chain


def test_one_entity_gives_objects_and_the_total_across_pages(db, count_statements):
    chain = _chain_with_nodes(db, 5)
    stmt = select(MapNode).where(MapNode.chain_id == chain.id).order_by(MapNode.id)
    with count_statements() as c:
        page = paginate(db, stmt, PageParams(limit=2, offset=2))
    assert c.count == 2
    assert isinstance(page, Paged)
    assert page.total == 5
    assert all(isinstance(node, MapNode) for node in page.rows)
    all_ids = db.scalars(stmt).all()
    assert [node.id for node in page.rows] == [node.id for node in all_ids[2:4]]


def test_several_things_selected_give_rows(db):
    chain = _chain_with_nodes(db, 3)
    stmt = (
        select(MapNode, Chain.code)
        .join(Chain, Chain.id == MapNode.chain_id)
        .where(MapNode.chain_id == chain.id)
        .order_by(MapNode.id)
    )
    total, rows = paginate(db, stmt, PageParams(limit=10, offset=0))
    assert total == 3
    assert [(node.chain_id, code) for node, code in rows] == [(chain.id, chain.code)] * 3


def test_count_statement_is_counted_instead_of_the_page_statement(db, count_statements):
    chain = _chain_with_nodes(db, 4)
    stmt = (
        select(MapNode, Chain.code)
        .join(Chain, Chain.id == MapNode.chain_id)
        .where(MapNode.chain_id == chain.id)
        .order_by(MapNode.id)
    )
    count = select(MapNode.id).where(MapNode.chain_id == chain.id)
    with count_statements() as c:
        total, rows = paginate(db, stmt, PageParams(limit=3, offset=0), count=count)
    assert (total, len(rows)) == (4, 3)
    counted = c.statements[0]
    assert "count(*)" in counted.lower() and "chains" not in counted.lower()

    # A count statement that selects fewer rows shows it is the one counted.
    fewer = count.where(MapNode.id == rows[0][0].id)
    assert paginate(db, stmt, PageParams(limit=3, offset=0), count=fewer).total == 1
