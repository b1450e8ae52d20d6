"""``skills`` in ``[mappings.container]``: references and inline skills built from a local folder,
loaded from a real config file, sent by our client to the real local backend over HTTP.

A skill folder that is missing, too large, without SKILL.md or holding a symbolic link is a
config error naming the file, the field and a fix; a link is never followed, not even when
it appears after the config was checked.
"""

from __future__ import annotations

import base64
import io
import os
import textwrap
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containersync.config import Config, SkillConfig, parse_config
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.runner import sync_mapping
from containersync.engine.session import open_session
from containersync.errors import ConfigError
from containersync.localapi.embedded import RunningServer
from containersync.skills import MAX_SKILL_BYTES, MAX_SKILL_FILES, skill_body

ENV = {"K": "sk-x"}


def config_text(server: RunningServer | None, tmp: Path, skills: str) -> str:
    api = f'[api]\nbase_url = "{server.base_url}"\napi_key_env = "K"\n' if server else ""
    return api + textwrap.dedent(f"""
        [state]
        dir = "{tmp}/state"
        [[mappings]]
        name = "m"
        local = "{tmp}/f"
        [mappings.container]
        name = "box"
    """) + textwrap.dedent(skills)


def load(tmp: Path, text: str) -> Config:
    return parse_config(text, file=tmp / "c.toml", env={**ENV, "HOME": str(tmp)})


def config_error(tmp: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp, text)
    return info.value


def make_skill(root: Path) -> dict[str, bytes]:
    files = {"SKILL.md": b"---\nname: csv\ndescription: CSV help\n---\nUse run.py.\n",
             "scripts/run.py": b"print('csv')\n", "references/notes.txt": b"notes\n"}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "scripts/run.py").chmod(0o755)
    return files


def created_skills(server: RunningServer, cfg: Config) -> tuple[str, list[dict[str, object]]]:
    """Create the mapping's container the way the engine does; what the backend recorded."""
    sess = open_session(cfg, ENV)
    try:
        ctx = sess.context(cfg.mappings[0], sess.open_index())
        made = sess.client.create_container(ctx.settings.container_spec)
        assert "skills" not in made.extra  # never echoed, as live
        return made.id, server.store.container_skills(made.id)
    finally:
        sess.close()


INLINE = """
    [[mappings.container.skills]]
    skill_id = "skill_abc123"
    version = "3"
    [[mappings.container.skills]]
    path = "skills/csv"
    description = "Read and summarise CSV files"
"""


def test_reference_and_inline_skill_reach_the_backend(local_server: RunningServer,
                                                       tmp_path: Path) -> None:
    files = make_skill(tmp_path / "skills" / "csv")
    _, skills = created_skills(local_server, load(tmp_path, config_text(local_server, tmp_path,
                                                                        INLINE)))
    assert skills[0] == {"type": "skill_reference", "skill_id": "skill_abc123", "version": "3"}
    inline = skills[1]
    assert (inline["type"], inline["name"], inline["description"]) == (
        "inline", "csv", "Read and summarise CSV files")
    source = inline["source"]
    assert isinstance(source, dict) and source["media_type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(source["data"])))
    assert {i.filename: archive.read(i) for i in archive.infolist()} == files
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in archive.infolist()}
    assert modes["scripts/run.py"] == 0o755 and modes["SKILL.md"] == 0o644


def test_the_zip_is_the_same_for_the_same_folder(local_server: RunningServer,
                                                 tmp_path: Path) -> None:
    make_skill(tmp_path / "skills" / "csv")
    cfg = load(tmp_path, config_text(local_server, tmp_path, INLINE))
    first = created_skills(local_server, cfg)[1][1]
    os.utime(tmp_path / "skills" / "csv" / "SKILL.md", (1, 1))  # times do not matter
    assert created_skills(local_server, cfg)[1][1] == first


def inline_at(path: str, extra: str = "") -> str:
    return f"""
        [[mappings.container.skills]]
        path = "{path}"
        description = "d"
        {extra}
    """


def test_a_missing_skill_folder_is_a_config_error(tmp_path: Path) -> None:
    err = config_error(tmp_path, config_text(None, tmp_path, inline_at("nowhere")))
    assert (err.file, err.field) == (str(tmp_path / "c.toml"), "mappings[0].container.skills[0].path")
    assert "does not exist" in str(err) and err.fix


def test_a_folder_without_skill_md_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "sk").mkdir()
    (tmp_path / "sk" / "readme.txt").write_text("x")
    err = config_error(tmp_path, config_text(None, tmp_path, inline_at("sk")))
    assert err.field == "mappings[0].container.skills[0].path" and "SKILL.md" in str(err)


def test_a_file_as_skill_folder_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "sk").write_text("x")
    err = config_error(tmp_path, config_text(None, tmp_path, inline_at("sk")))
    assert "is not a folder" in str(err)


def test_a_too_large_skill_folder_is_a_config_error(tmp_path: Path) -> None:
    make_skill(tmp_path / "sk")
    with open(tmp_path / "sk" / "big.bin", "wb") as f:
        f.truncate(MAX_SKILL_BYTES + 1)  # sparse: no time or disk spent
    err = config_error(tmp_path, config_text(None, tmp_path, inline_at("sk")))
    assert err.field == "mappings[0].container.skills[0].path" and "MiB" in str(err)
    assert err.fix is not None and "skill_id" in err.fix


def test_a_skill_folder_with_too_many_files_is_a_config_error(tmp_path: Path) -> None:
    make_skill(tmp_path / "sk")
    for i in range(MAX_SKILL_FILES):
        (tmp_path / "sk" / f"f{i}").write_bytes(b"")
    err = config_error(tmp_path, config_text(None, tmp_path, inline_at("sk")))
    assert f"more than {MAX_SKILL_FILES} files" in str(err)


@pytest.mark.parametrize("target", ["file", "folder", "inside"])
def test_a_link_in_the_skill_folder_is_refused_not_followed(tmp_path: Path, target: str) -> None:
    make_skill(tmp_path / "sk")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("private")
    link = tmp_path / "sk" / "scripts" / "link"
    link.symlink_to({"file": tmp_path / "outside" / "secret.txt", "folder": tmp_path / "outside",
                     "inside": tmp_path / "sk" / "SKILL.md"}[target])
    err = config_error(tmp_path, config_text(None, tmp_path, inline_at("sk")))
    assert "symbolic link" in str(err) and "scripts/link" in str(err)


def test_a_link_that_appears_after_the_check_is_never_followed(local_server: RunningServer,
                                                              tmp_path: Path) -> None:
    make_skill(tmp_path / "sk")
    (tmp_path / "f").mkdir()
    cfg = load(tmp_path, config_text(local_server, tmp_path, inline_at("sk")))
    (tmp_path / "private.txt").write_text("private")
    run = tmp_path / "sk" / "scripts" / "run.py"
    run.unlink()
    run.symlink_to(tmp_path / "private.txt")  # swapped in after the config was checked
    sess = open_session(cfg, ENV)
    try:
        ctx = sess.context(cfg.mappings[0], sess.open_index())
        assert ctx.spec_error is not None
        with pytest.raises(ConfigError) as info:
            run_cycle(ctx, CycleOptions(), now=lambda: datetime.now(UTC))
        assert not list(sess.client.list_containers())  # refused before any create
        run.unlink()
        run.write_text("print('fixed')\n")  # fixed: the next cycle goes ahead
        run_cycle(ctx, CycleOptions(), now=lambda: datetime.now(UTC))
        assert ctx.spec_error is None and len(list(sess.client.list_containers())) == 1
    finally:
        sess.close()
    assert info.value.field == "mappings[0].container.skills[0].path"
    assert "symbolic link" in str(info.value) and "private" not in str(info.value)


@pytest.mark.parametrize(("skills", "text"), [
    ('[[mappings.container.skills]]\nskill_id = "s"\npath = "sk"\n', "either skill_id"),
    ('[[mappings.container.skills]]\nversion = "1"\n', "either skill_id"),
    ('[[mappings.container.skills]]\npath = "sk"\n', "needs a description"),
    ('[[mappings.container.skills]]\npath = "sk"\ndescription = "d"\nversion = "1"\n',
     "version only applies"),
    ('[[mappings.container.skills]]\nskill_id = "s"\ndescription = "d"\n',
     "only apply to an inline skill"),
    ('[[mappings.container.skills]]\nskill_id = "s"\nversoin = "1"\n', "unknown key"),
])
def test_a_malformed_skill_entry_is_a_config_error(tmp_path: Path, skills: str,
                                                   text: str) -> None:
    make_skill(tmp_path / "sk")
    err = config_error(tmp_path, config_text(None, tmp_path, skills))
    assert err.field is not None and err.field.startswith("mappings[0].container.skills[0]")
    assert text in str(err)


def test_an_adopted_container_takes_no_skills(tmp_path: Path) -> None:
    text = config_text(None, tmp_path, "").replace('name = "box"', 'id = "cntr_abc"')
    text += '[[mappings.container.skills]]\nskill_id = "s"\n'
    err = config_error(tmp_path, text)
    assert "skills cannot apply" in str(err)


_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12
                ).filter(lambda n: n not in (".", ".."))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.dictionaries(st.lists(_NAME, min_size=1, max_size=3).map("/".join),
                            st.binary(max_size=200), max_size=8))
def test_the_zip_holds_exactly_the_folder(tmp_path_factory: pytest.TempPathFactory,
                                          tree: dict[str, bytes]) -> None:
    root = tmp_path_factory.mktemp("skill")
    files = {"SKILL.md": b"---\nname: s\n---\n"}
    for rel, data in tree.items():
        target = root / rel
        clash = any(p.is_file() for p in target.parents if p != root) or target.is_dir()
        if clash or rel == "SKILL.md":
            continue  # a path that is a file and a folder at once cannot exist
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files[rel] = data
    (root / "SKILL.md").write_bytes(files["SKILL.md"])
    skill = SkillConfig(path=root, description="d")
    body = skill_body(skill, field="f")
    again = skill_body(skill, field="f")
    assert body == again  # deterministic
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(body["source"]["data"])))
    got = {i.filename: archive.read(i) for i in archive.infolist()}
    on_disk = {p.relative_to(root).as_posix(): p.read_bytes()
               for p in root.rglob("*") if p.is_file()}
    assert got == on_disk


def test_an_edited_skill_goes_into_the_next_container_made(local_server: RunningServer,
                                                           tmp_path: Path) -> None:
    """One context for many cycles, as the daemon keeps it: a new generation reads the
    folder again."""
    make_skill(tmp_path / "sk")
    (tmp_path / "f").mkdir()
    cfg = load(tmp_path, config_text(local_server, tmp_path, inline_at("sk")))
    sess = open_session(cfg, ENV)

    def manifest(cid: str) -> bytes:
        data = server_skill(cid)["source"]["data"]  # type: ignore[index]
        return zipfile.ZipFile(io.BytesIO(base64.b64decode(data))).read("SKILL.md")

    def server_skill(cid: str) -> dict[str, object]:
        return local_server.store.container_skills(cid)[0]

    try:
        ctx = sess.context(cfg.mappings[0], sess.open_index())
        first = sync_mapping(ctx, CycleOptions(), now=lambda: datetime.now(UTC)).container_id
        (tmp_path / "sk" / "SKILL.md").write_bytes(b"---\nname: csv\n---\nversion two\n")
        local_server.advance_clock(21 * 60)  # it expires: the next cycle makes another
        second = sync_mapping(ctx, CycleOptions(), now=lambda: datetime.now(UTC)).container_id
    finally:
        sess.close()
    assert first and second and first != second
    assert b"version two" not in manifest(first) and b"version two" in manifest(second)


def test_the_skill_folder_itself_may_be_a_link(local_server: RunningServer,
                                               tmp_path: Path) -> None:
    files = make_skill(tmp_path / "real")
    (tmp_path / "skills").mkdir()
    (tmp_path / "skills" / "csv").symlink_to(tmp_path / "real")
    _, skills = created_skills(local_server, load(tmp_path, config_text(local_server, tmp_path,
                                                                        INLINE)))
    source = skills[1]["source"]
    assert isinstance(source, dict) and skills[1]["name"] == "csv"
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(source["data"])))
    assert {i.filename: archive.read(i) for i in archive.infolist()} == files
