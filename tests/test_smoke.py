from tests.factories import make_chain, make_enterprise


def test_unknown_route_is_a_problem(client):
    r = client.get("/api/v1/does-not-exist")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404


def test_factories_write_in_the_test_transaction(db):
    chain = make_chain(db)
    ent = make_enterprise(db)
    assert chain.id and ent.id and len(ent.uscc) == 18
