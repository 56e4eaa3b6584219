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


def test_out_of_range_dates_are_client_errors(client, db):
    from tests.factories import make_project

    project = make_project(db, make_chain(db))
    for params in ({"as_of": "0001-01-01T00:00:00+08:00"}, {"as_of": "9999-12-31T23:59:59-08:00"}):
        r = client.get(f"/api/v1/projects/{project.id}/progress", params=params)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
    r = client.get("/api/v1/reports/dashboard", params={"period": "9999-12"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period"
