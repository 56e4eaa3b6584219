from tests.factories import make_chain, make_enterprise
from tests.problems import assert_problem


def test_unknown_route_is_a_problem(client):
    assert_problem(client.get("/api/v1/does-not-exist"), 404, "not-found")


def test_factories_write_in_the_test_transaction(db):
    chain = make_chain(db)
    ent = make_enterprise(db)
    assert chain.id and ent.id and len(ent.uscc) == 18


def test_out_of_range_dates_are_client_errors(client, db):
    from tests.factories import make_project

    project = make_project(db, make_chain(db))
    for params in ({"as_of": "0001-01-01T00:00:00+08:00"}, {"as_of": "9999-12-31T23:59:59-08:00"}):
        r = client.get(f"/api/v1/projects/{project.id}/progress", params=params)
        assert_problem(r, 422, "validation")
    r = client.get("/api/v1/reports/dashboard", params={"period": "9999-12"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period"
