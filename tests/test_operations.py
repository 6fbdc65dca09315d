"""What a council's IT team meets (docs/operations.md): a Windows console, the data directory, the config
file, logging for `reminders serve`, `python -m trigger`, one-line errors naming what to install, and the
shipped recipes (compose.yaml, the systemd unit, cron and schtasks, LICENSE, the package metadata)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.support.forks import forked
from tests.support.incident_logs import ECINS_HEADER, ECINS_ROWS, csv_bytes
from tests.support.serving import Serve
from tests.support.waiting import HANG

pytestmark = pytest.mark.any_engine  # consoles, installs, config files and logging: the same on any database

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, env=None, **kwargs):
    return subprocess.run(
        [sys.executable, "cli.py", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=HANG,
        **kwargs,
    )


# -- a Windows console ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_cp1252_console_gets_utf8_instead_of_a_crash(db):
    db("agency", "add", "gower", "--name", "Cyngor Gŵyr", "--kind", "council")
    for args in (("agency", "list", "--csv"), ("agency", "list")):
        proc = _run(*args, env={"PYTHONIOENCODING": "cp1252"})
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
        assert "Cyngor Gŵyr" in proc.stdout.decode("utf-8")
    # errors too: stderr is UTF-8 as well
    proc = _run(
        "agency",
        "add",
        "gower",
        "--name",
        "Gŵyr eto",
        "--kind",
        "council",
        env={"PYTHONIOENCODING": "cp1252"},
    )
    assert proc.returncode != 0 and b"Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_txt_letter_with_a_welsh_name_prints_on_a_cp1252_console(db):
    ref = db.json(
        "activate",
        "--applicant",
        "Gwenllian Gŵyr",
        "--received",
        "2026-03-02",
        "--channel",
        "letter",
        "--statement",
        "Nothing has changed",
    )["reference"]
    proc = _run(
        "letter", ref, "acknowledgement", "--format", "txt", "--preview", env={"PYTHONIOENCODING": "cp1252"}
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert "Gwenllian Gŵyr" in proc.stdout.decode("utf-8")


@pytest.mark.slow
def test_python_dash_m_trigger_is_the_same_command(db):
    listed, helped = forked(
        [["-m", "trigger", "agency", "list", "--json"], ["-m", "trigger", "--help"]], "floor"
    )
    assert listed.returncode == 0 and '"code": "police"' in listed.stdout
    assert helped.stdout.startswith("Usage: trigger ")


# -- the data directory -----------------------------------------------------------------------------------


def _fresh_user(tmp_path) -> dict:
    home = tmp_path / "user"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIGGER_", "XDG_"))}
    return {**env, "HOME": str(home), "TRIGGER_USER": "tester"}


def _as_user(env: dict, *args: str) -> subprocess.CompletedProcess:
    """`trigger ARGS` in a process of its own with the user's environment `env` (what the data folder is
    is read there, with nothing of this process's settings)."""
    (proc,) = forked([["cli.py", *args]], "floor", env=env)
    return proc


@pytest.mark.slow
def test_a_new_install_keeps_its_data_in_the_data_folder_and_an_old_one_keeps_its_database(tmp_path):
    env = _fresh_user(tmp_path)
    home = Path(env["HOME"])
    proc = _as_user(env, "init")
    assert proc.returncode == 0, proc.stderr
    data = home / ".local" / "share" / "community-trigger"  # platformdirs.user_data_dir on Linux
    assert (data / "trigger.db").is_file() and oct(data.stat().st_mode & 0o777) == "0o700"
    assert not (home / ".config" / "community-trigger").exists() and not proc.stderr

    env = _fresh_user(tmp_path / "old")
    old = Path(env["HOME"]) / ".config" / "community-trigger"  # where click.get_app_dir put it before
    old.mkdir(parents=True)
    (old / "trigger.toml").write_text('as = "Sam Reviewer"\n')
    assert _as_user(env, "init").returncode == 0
    (Path(env["HOME"]) / ".local" / "share" / "community-trigger" / "trigger.db").rename(old / "trigger.db")
    first = _as_user(env, "agency", "add", "gower", "--name", "Gower", "--kind", "council")
    assert first.returncode == 0, first.stderr
    assert f"the database is {old / 'trigger.db'}, the folder used before" in first.stderr
    again = _as_user(env, "agency", "list", "--csv")
    assert "Gower" in again.stdout and not again.stderr  # the same database, named once
    assert not (Path(env["HOME"]) / ".local" / "share" / "community-trigger" / "trigger.db").exists()


def test_trigger_home_still_wins(tmp_path, monkeypatch):
    from trigger import settings

    monkeypatch.setenv("TRIGGER_HOME", str(tmp_path / "here"))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "trigger.db").touch()
    monkeypatch.setattr(settings, "_former_dir", tmp_path / "app")
    assert settings.data_dir() == tmp_path / "here"


# -- the config file --------------------------------------------------------------------------------------


def _config(tmp_path, text: str) -> Path:
    home = Path(os.environ["TRIGGER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    path = home / "trigger.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_config_file_gives_defaults_to_any_command(db, tmp_path):
    _config(tmp_path, '[incidents.import]\nmap = "ecins"\ndate-format = "%d/%m/%Y"\n')
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes([ECINS_HEADER, *ECINS_ROWS], "cp1252"))
    assert "Imported 4 of 4 rows" in db("incidents", "import", path).stdout  # no --map typed
    # the command line still wins
    assert "missing column" in db.fails("incidents", "import", path, "--map", "sentinel").stderr


def test_the_environment_beats_the_config_file_and_the_command_line_beats_both(db, tmp_path, monkeypatch):
    _config(tmp_path, 'as = "From Config"\n[report.annual]\npublish = true\n')
    assert db.json("report", "annual", "--year", "2025")["suppressed"] is True
    db("agency", "add", "fire", "--name", "Fire", "--kind", "other")  # TRIGGER_USER=tester is set
    monkeypatch.delenv("TRIGGER_USER")
    db("agency", "add", "ywca", "--name", "YWCA", "--kind", "other")
    db("--as", "Typed Person", "agency", "add", "nhs", "--name", "NHS", "--kind", "health")
    import sqlalchemy

    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"])
    with engine.connect() as conn:
        actors = [r[0] for r in conn.execute(sqlalchemy.text("SELECT actor FROM audit_event ORDER BY id"))]
    engine.dispose()
    assert actors[-3:] == ["tester", "From Config", "Typed Person"]


def test_trigger_config_names_another_file(db, tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.toml"
    path.write_text("[report.annual]\npublish = true\n", encoding="utf-8")
    monkeypatch.setenv("TRIGGER_CONFIG", str(path))
    assert db.json("report", "annual", "--year", "2025")["suppressed"] is True
    monkeypatch.setenv("TRIGGER_CONFIG", str(tmp_path / "missing.toml"))
    err = db.fails("report", "annual").stderr
    assert err == f"Error: TRIGGER_CONFIG names {tmp_path / 'missing.toml'}, which is not a file\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "[report.annual]\npublsh = true\n",
            "[report.annual] 'publsh' is not an option of `trigger report annual`",
        ),
        ("[reprot]\nx = 1\n", "[top level] 'reprot' is not an option of `trigger`"),
        ("db = \n", "is not valid TOML"),
    ],
)
def test_a_broken_config_file_is_one_line_naming_the_file(db, tmp_path, text, expected):
    path = _config(tmp_path, text)
    err = db.fails("agency", "list").stderr
    assert err.startswith(f"Error: {path}") and expected in err and err.count("\n") == 1


# -- logging for reminders serve ----------------------------------------------------------------------------


@pytest.mark.slow
def test_reminders_serve_logs_each_sweep_through_logging_on_stderr(db, tmp_path):
    serve = Serve("--every", "5", env={"TRIGGER_OUTBOX": str(tmp_path / "outbox")})
    try:
        serve.wait_until(serve.swept, "its first sweep")
        serve.signal(signal.SIGTERM)
        assert serve.finish() == 0, serve.log
    finally:
        serve.kill()
    log = "\n".join(serve.log)
    assert serve.out == [], log
    assert re.search(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO trigger.deadlines.reminders: serving: sweep every 5s",
        log,
        re.M,
    )
    assert (
        " INFO trigger.deadlines.reminders: sweep " in log
        and " INFO trigger.deadlines.reminders: stopped" in log
    )
    assert "apscheduler" not in log  # the scheduler's chatter only with -v


@pytest.mark.parametrize(
    "verbosity, shown",
    [
        (0, ["trigger INFO", "trigger WARNING", "library WARNING", "renderer ERROR"]),
        (-1, ["trigger WARNING", "library WARNING", "renderer ERROR"]),
        (-2, ["renderer ERROR"]),
        (
            1,
            [
                *("trigger DEBUG", "trigger INFO", "trigger WARNING", "library INFO", "library WARNING"),
                *("renderer INFO", "renderer WARNING", "renderer ERROR"),
            ],
        ),
    ],
)
def test_v_and_q_choose_how_much_is_logged(capsys, verbosity, shown):
    import logging

    import cli

    cli.setup_logging(verbosity)
    try:
        for name, logger in (
            ("trigger", logging.getLogger("trigger.deadlines.reminders")),
            ("library", logging.getLogger("apscheduler.x")),
            ("renderer", logging.getLogger("weasyprint")),  # e.g. its font-subsetting note on every PDF
        ):
            for level in ("DEBUG", "INFO", "WARNING") + (("ERROR",) if name == "renderer" else ()):
                logger.log(getattr(logging, level), f"{name} {level}")
        err = capsys.readouterr().err
        assert [line.split(": ", 1)[1] for line in err.splitlines()] == shown
    finally:
        cli.setup_logging(0)


# -- what to install -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_postgresql_url_without_psycopg_says_which_extra_to_install(tmp_path):
    code = "import sys; sys.modules['psycopg'] = None; import cli; sys.argv = ['trigger', 'list']; cli.main()"
    env = {**os.environ, "TRIGGER_DB": "postgresql+psycopg://trigger@127.0.0.1:5432/ct"}
    (proc,) = forked([["-c", code]], "floor", env=env)
    assert proc.returncode == 1
    assert proc.stderr == (
        "Error: this database URL needs PostgreSQL's driver, psycopg 3; "
        "install the postgres extra: pip install 'community-trigger[postgres]'\n"
    )


def _with_fake_library(folder: Path, *args) -> str:
    """What `trigger ARGS` writes on stderr, exiting 1, when the libraries in `folder` are found before
    the installed ones (as PYTHONPATH would put them: in a process of its own that has imported neither)."""
    code = (
        f"import runpy, sys; sys.path.insert(0, {str(folder)!r}); sys.argv = ['cli.py', *sys.argv[1:]]; "
        "runpy.run_path('cli.py', run_name='__main__')"
    )
    (proc,) = forked([["-c", code, *map(str, args)]], "floor")
    assert proc.returncode == 1, proc.stderr
    return proc.stderr


@pytest.mark.slow
def test_a_pdf_without_pango_names_the_packages_to_install(db, case, tmp_path):
    fake = tmp_path / "fake" / "weasyprint"
    fake.mkdir(parents=True)
    # what WeasyPrint raises when the system has no Pango
    (fake / "__init__.py").write_text(
        "raise OSError(\"cannot load library 'libpango-1.0-0': libpango-1.0-0: \"\n"
        '              "cannot open shared object file")\n'
    )
    out = tmp_path / "letter.pdf"
    err = _with_fake_library(
        tmp_path / "fake", "letter", case, "acknowledgement", "--format", "pdf", "-o", out
    )
    assert err.count("\n") == 1, err
    assert (
        "PDF letters need the Pango library, which is not installed (cannot load library 'libpango-1.0-0'"
        in err
    )
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in err and "mingw-w64-x86_64-pango" in err
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fmt", "module", "extra"), [("pdf", "weasyprint", "pdf"), ("docx", "docx", "docx")], ids=["pdf", "docx"]
)
def test_a_letter_format_whose_extra_is_not_installed_names_the_extra(db, case, tmp_path, fmt, module, extra):
    fake = tmp_path / "fake" / module
    fake.mkdir(parents=True)
    # what Python raises when the minimal install (no extras) imports the renderer
    (fake / "__init__.py").write_text(
        f"raise ModuleNotFoundError(\"No module named '{module}'\", name='{module}')\n"
    )
    out = tmp_path / f"letter.{fmt}"
    err = _with_fake_library(fake.parent, "letter", case, "acknowledgement", "--format", fmt, "-o", out)
    assert err.count("\n") == 1, err
    assert f"install the {extra} extra: pip install 'community-trigger[{extra}]'" in err
    assert not out.exists()


# -- the shipped recipes -------------------------------------------------------------------------------------


def test_compose_runs_postgresql_and_reminders_serve():
    # no Docker engine here: the file is parsed and its shape checked
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    db, reminders = compose["services"]["db"], compose["services"]["reminders"]
    assert db["image"].startswith("postgres:")
    assert db["environment"]["POSTGRES_DB"] == "community_trigger"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert reminders["build"] == "." and reminders["command"] == ["reminders", "serve"]
    url = reminders["environment"]["TRIGGER_DB"]
    assert url.startswith("postgresql+psycopg://trigger:") and url.endswith("@db:5432/community_trigger")
    assert reminders["depends_on"]["db"]["condition"] == "service_healthy"
    assert reminders["healthcheck"]["test"][:2] == ["CMD", "trigger"]
    assert reminders["stop_signal"] == "SIGTERM" and set(compose["volumes"]) >= {"pgdata"}


def _dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_image_runs_as_its_user_with_the_volumes_it_mounts_created_and_owned():
    # no Docker engine here, and no registry for the base image: the image's layers are read in order
    steps = _dockerfile()
    users = [arg for op, arg in steps if op == "USER"]
    assert users == ["trigger"]
    before_user = steps[: steps.index(("USER", "trigger"))]
    runs = " ".join(arg for op, arg in before_user if op == "RUN")
    assert re.search(r"useradd [^&]*\btrigger\b", runs)
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(arg for op, arg in steps if op == "ENV")))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    ours = [s for s in compose["services"].values() if s.get("image", "").startswith("community-trigger")]
    assert len(ours) >= 2  # the reminders and the applicant's door run this image
    mounts = [v.split(":")[1] for service in ours for v in service.get("volumes", [])]
    assert env["TRIGGER_HOME"] in mounts
    made = re.findall(r"install -d -o trigger -g trigger -m 0700 ([^&;]+)", runs)
    made = {path for group in made for path in group.split()}
    for mount in mounts:  # a folder the image does not make is made by Docker, owned by root
        assert mount in made, f"{mount} is mounted by compose.yaml but not created and owned in the image"
    assert f"{env['TRIGGER_HOME']}/outbox" in made
    # the tested versions, and only the extras the reminders need unless asked
    assert ("COPY", "deploy/constraints.txt ./deploy/") in before_user
    assert 'pip install --no-cache-dir -c deploy/constraints.txt ".[$EXTRAS]"' in runs
    assert ("ARG", "EXTRAS=postgres,web") in steps and ("ENTRYPOINT", '["trigger"]') in steps


def test_the_deployment_constraints_pin_every_dependency_within_its_declared_range():
    # deploy/constraints.txt is what README, Dockerfile and compose.yaml install; scripts/lock.sh refreshes it
    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "deploy" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", " ")):
            req = Requirement(line)
            pins[req.name.lower()] = next(iter(req.specifier)).version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    deployed = [lines for name, lines in extras.items() if name != "test"]  # every extra a deployment may add
    for line in [*project["dependencies"], *(line for extra in deployed for line in extra)]:
        req = Requirement(line)
        if req.marker and not req.marker.evaluate({"sys_platform": "win32"}):
            continue
        name = req.name.lower()
        assert name in pins, f"{name} is not in deploy/constraints.txt: run scripts/lock.sh"
        assert req.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} is outside {req}: run scripts/lock.sh"
        )


def test_compose_runs_the_applicants_door_beside_them_on_loopback():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    web, reminders = compose["services"]["web"], compose["services"]["reminders"]
    assert web["image"] == reminders["image"] and web["command"][:2] == ["web", "serve"]
    assert web["environment"]["TRIGGER_DB"] == reminders["environment"]["TRIGGER_DB"]
    assert web["ports"] == ["127.0.0.1:8080:8080"]  # only the host's reverse proxy reaches it
    assert web["depends_on"]["db"]["condition"] == "service_healthy" and web["stop_signal"] == "SIGTERM"


def test_the_systemd_unit_runs_reminders_serve():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(ROOT / "deploy" / "trigger-reminders.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("/bin/trigger reminders serve")
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
    assert service["User"] == "trigger" and service["UMask"] == "0077"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_unit_is_hardened_to_an_exposure_of_three_or_less(tmp_path):
    # scored offline, as `systemd-analyze security` scores an installed unit
    shutil.copy(ROOT / "deploy" / "trigger-reminders.service", tmp_path)
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "trigger-reminders.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    score = re.search(r"Overall exposure level for trigger-reminders.service: ([0-9.]+)", proc.stdout)
    assert score and float(score[1]) <= 3.0, proc.stdout[-2000:]


def test_operations_doc_has_a_cron_line_and_a_schtasks_command():
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "*/15 * * * *" in doc and "trigger -q reminders run" in doc
    assert 'schtasks /Create /TN "Community Trigger reminders" /SC MINUTE /MO 15' in doc
    assert "-m trigger -q reminders run" in doc


def test_license_and_package_metadata():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert "Operating System :: Microsoft :: Windows" in project["classifiers"]
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(project["urls"])
    assert any(d.startswith("openpyxl") for d in project["dependencies"])
    assert any(d.startswith("icalendar") for d in project["dependencies"])
