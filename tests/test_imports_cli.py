"""``chaintrack template | import | export`` on a scratch database of the engine under test."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack.cli import build_parser
from chaintrack.db import make_engine
from chaintrack.models import AuditRecord, Enterprise
from tests.conftest import settings_for_tests
from tests.test_imports_api import uscc


def run(settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return int(args.func(args, settings))


def test_template_import_export_commands(scratch_database_url, tmp_path, capsys):
    settings = settings_for_tests(scratch_database_url)
    template = tmp_path / "企业模板.xlsx"
    assert run(settings, "template", "enterprises", str(template)) == 0
    assert template.read_bytes().startswith(b"PK")
    assert run(settings, "template", "progress", str(tmp_path / "p.csv")) == 0
    assert (tmp_path / "p.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    codes = [uscc(), uscc()]
    data = tmp_path / "enterprises.csv"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        ["统一社会信用代码", "企业名称", "所在地区代码", "数据年度", "营业收入（万元）"]
    )
    writer.writerow([codes[0], "命令行企业甲", "370100", "2024", "1,000.5"])
    writer.writerow([codes[1], "命令行企业乙", "370100", "2024", "2000"])
    data.write_text(buf.getvalue(), encoding="utf-8")

    # Dry run (the default): the report, nothing written.
    assert run(settings, "import", "enterprises", str(data)) == 0
    out = capsys.readouterr().out
    assert "row      2  新增 create" in out and "create 2" in out
    engine = make_engine(scratch_database_url)
    try:
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(Enterprise)) == 0

        assert run(settings, "import", "enterprises", str(data), "--commit") == 0
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(Enterprise)) == 2
            records = s.scalars(
                select(AuditRecord).where(AuditRecord.entity == "enterprises")
            ).all()
            assert len(records) == 2
            assert {(r.user_id, r.request_id) for r in records} == {(None, "cli")}

        exported = tmp_path / "out.xlsx"
        assert run(settings, "export", "enterprises", str(exported)) == 0
        assert "2 rows written" in capsys.readouterr().out
        assert run(settings, "import", "enterprises", str(exported), "--commit") == 0
        assert "unchanged 2" in capsys.readouterr().out

        # A bad row: exit code 1, the row and column reported, nothing written.
        bad = tmp_path / "bad.csv"
        bad.write_text(
            "统一社会信用代码,企业名称,所在地区代码\n"
            f"{uscc()},好企业,370100\n"
            "91370100MA3C00000X,坏企业,370100\n",
            encoding="utf-8",
        )
        assert run(settings, "import", "enterprises", str(bad), "--commit") == 1
        err = capsys.readouterr().err
        assert "row 3, column 统一社会信用代码" in err
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(Enterprise)) == 2
        assert run(settings, "import", "enterprises", str(bad)) == 1
        assert "error: row 3" in capsys.readouterr().out
    finally:
        engine.dispose()
