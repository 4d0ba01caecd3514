"""The weights role's logic: Hub listings, pins, the verified-file stamp, the disk arithmetic,
and the two modules run against real files and a real HTTP server (tests/testbed/fake_hub.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import weights as w
from ansible_collections.sparkops.llm.plugins.modules import weights_manifest, weights_verify

FIXTURE = Path(__file__).parent / "fixtures" / "weights" / "tree_gpt_oss_120b.json"
SHARDS = [f"gpt-oss-120b-mxfp4-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
PATTERN = ["gpt-oss-120b-mxfp4-0000?-of-00003.gguf"]
REAL_SHA = {
    SHARDS[0]: "e2865eb6c1df7b2ffbebf305cd5d9074d5ccc0fe3b862f98d343a46dad1606f9",
    SHARDS[1]: "346492f65891fb27cac5c74a8c07626cbfeb4211cd391ec4de37dbbe3109a93b",
    SHARDS[2]: "66dca81040933f5a49177e82c479c51319cefb83bd22dad9f06dad45e25f1463",
}


def listing():
    return w.parse_tree(json.loads(FIXTURE.read_text()))


def test_tree_listing_gives_each_lfs_files_sha256_and_skips_folders():
    files = listing()
    assert "docs" not in files
    assert files[SHARDS[1]] == {
        "size": 31738487200,
        "sha256": REAL_SHA[SHARDS[1]],
        "git_blob": None,
    }
    assert files["README.md"] == {
        "size": 2114,
        "sha256": None,
        "git_blob": "1f2a7c0e5d8e2b9f1c6a0d4e3b7f8a9c2d1e0f3a",
    }


# A Hugging Face checkpoint's small files are kept in git: the listing gives only their blob id.
CONFIG = b'{"architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss"}\n'


def git_listing(content: bytes = CONFIG) -> dict:
    return w.parse_tree(
        [
            {
                "type": "file",
                "oid": w.git_blob_id(content),
                "size": len(content),
                "path": "config.json",
            }
        ]
    )


def test_git_blob_id_is_gits_own():
    # `printf 'hello\n' | git hash-object --stdin`
    assert w.git_blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_a_file_kept_in_git_gets_the_sha256_of_content_matching_its_blob_id():
    reads = []
    manifest = w.hub_manifest(
        git_listing(), ["config.json"], {}, "hub", read=lambda name: reads.append(name) or CONFIG
    )
    assert reads == ["config.json"]
    assert manifest == [
        {
            "name": "config.json",
            "size": len(CONFIG),
            "sha256": hashlib.sha256(CONFIG).hexdigest(),
            "sha256_from": "git",
        }
    ]


def test_a_file_kept_in_git_served_with_other_bytes_is_refused():
    with pytest.raises(w.WeightsError, match="served config.json with git blob id"):
        w.hub_manifest(git_listing(), ["config.json"], {}, "hub", read=lambda name: CONFIG + b" ")


def test_a_pinned_file_kept_in_git_is_not_read():
    pin = {"config.json": hashlib.sha256(CONFIG).hexdigest()}
    manifest = w.hub_manifest(git_listing(), ["config.json"], pin, "hub", read=pytest.fail)
    assert manifest[0]["sha256_from"] == "pin"


def test_a_large_file_claiming_to_be_kept_in_git_is_refused_unread():
    listing = git_listing()
    listing["config.json"]["size"] = w.GIT_FILE_LIMIT + 1
    with pytest.raises(w.WeightsError, match="not a file kept in git"):
        w.hub_manifest(listing, ["config.json"], {}, "hub", read=pytest.fail)


def test_manifest_keeps_the_three_shards_totalling_the_published_size():
    manifest = w.hub_manifest(listing(), PATTERN, {}, "hub")
    assert [item["name"] for item in manifest] == SHARDS
    assert sum(item["size"] for item in manifest) == 63387346464
    assert {item["sha256_from"] for item in manifest} == {"hub"}


def test_builtin_pins_agree_with_the_hubs_listing():
    manifest = w.hub_manifest(listing(), PATTERN, REAL_SHA, "hub")
    assert {item["name"]: item["sha256"] for item in manifest} == REAL_SHA


def test_a_pin_disagreeing_with_the_hub_is_refused():
    with pytest.raises(w.WeightsError, match="but weights_hf_sha256 pins 0000"):
        w.hub_manifest(listing(), PATTERN, {SHARDS[0]: "0" * 64}, "hub")


def test_a_file_without_lfs_sha256_needs_a_pin():
    files = listing()
    for name in SHARDS:
        files[name]["sha256"] = None  # a Xet-only answer
    with pytest.raises(w.WeightsError, match="reports no sha256"):
        w.hub_manifest(files, PATTERN, {}, "hub")
    manifest = w.hub_manifest(files, PATTERN, REAL_SHA, "hub")
    assert {item["sha256_from"] for item in manifest} == {"pin"}


def test_a_pattern_matching_nothing_names_the_files_there():
    with pytest.raises(w.WeightsError, match=r"no file matching \*Q4_K_M\*.*README.md"):
        w.hub_manifest(listing(), PATTERN + ["*Q4_K_M*"], {}, "hub")


def test_link_header_next_page():
    header = '<https://huggingface.co/api/models/x/y/tree/main?cursor=abc>; rel="next"'
    assert w.next_link(header) == "https://huggingface.co/api/models/x/y/tree/main?cursor=abc"
    assert w.next_link('<https://a/b>; rel="prev"') is None
    assert w.next_link(None) is None


def test_url_entries_need_a_sha256_and_a_size():
    entry = {"url": "https://mirror.example/m/a.gguf?sig=1", "sha256": "A" * 64}
    [item] = w.url_manifest([entry], {entry["url"]: 10})
    assert item == {
        "name": "a.gguf",
        "size": 10,
        "sha256": "a" * 64,
        "sha256_from": "list",
        "url": entry["url"],
    }
    with pytest.raises(w.WeightsError, match="needs a sha256"):
        w.url_manifest([{"url": "https://m/a.gguf", "sha256": "abc"}], {})
    with pytest.raises(w.WeightsError, match="add size"):
        w.url_manifest([entry], {entry["url"]: None})


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"url": "https://m/a.gguf", "sha256": "abc"},
            "weights_urls entry 1 (https://m/a.gguf) needs a sha256 of 64 hex digits (got 'abc')",
        ),
        ({"url": "https://m/a.gguf", "sha256": "g" * 64}, "needs a sha256 of 64 hex digits"),
        ({"url": "https://m/a.gguf"}, "needs a sha256 of 64 hex digits (got '')"),
        ({"url": "file:///etc/shadow", "sha256": "a" * 64}, "starts with http:// or https://"),
        ({"url": "https://m/a.gguf", "sha256": "a" * 64, "sha265": "x"}, "unknown key(s) sha265"),
        ({"url": "https://m/a.gguf", "sha256": "a" * 64, "size": -1}, "has size -1"),
        ({"url": "https://m/a.gguf", "sha256": "a" * 64, "name": "../x"}, "its file name '../x'"),
        ({"url": "https://m/", "sha256": "a" * 64, "name": ".verified.json"}, "keeps for itself"),
    ],
    ids=["short", "not-hex", "none", "file-url", "unknown-key", "size", "dotdot", "reserved"],
)
def test_a_bad_url_entry_is_refused_naming_it(entry, expected):
    with pytest.raises(w.WeightsError) as raised:
        w.check_url_entries([entry])
    assert expected in str(raised.value)
    assert str(raised.value).startswith("weights_urls entry 1")


def test_a_repeated_url_file_name_is_refused():
    entries = [{"url": f"https://m{i}/a.gguf", "sha256": "a" * 64} for i in (1, 2)]
    with pytest.raises(w.WeightsError, match="weights_urls entry 2 .*'a.gguf' is repeated"):
        w.check_url_entries(entries)


def test_a_pin_that_is_not_a_sha256_is_refused_naming_the_file():
    with pytest.raises(w.WeightsError, match=r"weights_hf_sha256 pins 'abc' for a.gguf"):
        w.check_pins({"a.gguf": "abc"})
    w.check_pins(REAL_SHA)


@pytest.mark.parametrize(
    "name", ["../../etc/shadow", "/etc/shadow", "a/../b", "a//b", ".incoming/x", "x.part", "x\\y"]
)
def test_a_listed_name_that_leaves_the_folder_or_takes_the_roles_own_is_refused(name):
    assert w.name_problem(name)
    listing = {name: {"size": 1, "sha256": "a" * 64}}
    with pytest.raises(w.WeightsError, match="the role writes files only inside the model folder"):
        w.hub_manifest(listing, ["*"], {}, "hub")


@pytest.mark.parametrize("name", ["a.gguf", "Q4_K_M/model-00001-of-00002.gguf", ".gitattributes"])
def test_plain_and_subfolder_names_are_accepted(name):
    assert w.name_problem(name) == ""


@pytest.mark.parametrize(
    ("record", "aside", "expected", "decision"),
    [
        (None, None, "e", "none"),
        ({"size": 1, "mtime_ns": 2, "sha256": "f", "expected": "e"}, None, "e", "forget"),
        ({"size": 1, "mtime_ns": 2, "sha256": "f", "expected": "e"}, (1, 2), "e", "refuse"),
        ({"size": 1, "mtime_ns": 2, "sha256": "f", "expected": "e"}, (1, 2), "f", "restore"),
        ({"size": 1, "mtime_ns": 2, "sha256": "f", "expected": "e"}, (1, 2), "g", "stale"),
        ({"size": 1, "mtime_ns": 2, "sha256": "f", "expected": "e"}, (1, 3), "e", "foreign"),
        (None, (1, 2), "e", "foreign"),
        ({"size": 1, "mtime_ns": 2, "sha256": "f", "expected": "e"}, "other", "e", "foreign"),
    ],
    ids=[
        "nothing",
        "user-removed-it",
        "same-sha",
        "fixed-sha",
        "third-sha",
        "changed",
        "unknown",
        "link",
    ],
)
def test_what_happens_to_a_kept_mismatch(record, aside, expected, decision):
    assert w.aside_decision(record, aside, expected, 1) == decision


def test_first_shard_is_shard_one_whatever_the_order():
    assert w.first_shard(list(reversed(SHARDS))) == SHARDS[0]
    assert w.first_shard(["model.gguf"]) == "model.gguf"


def test_disk_needs_the_rest_of_the_download_plus_the_margin():
    assert w.disk_shortfall(100, 60, 0, 10) == (70, True)
    assert w.disk_shortfall(50, 60, 0, 10) == (70, False)
    # 80% already on disk as partial files: only the rest must fit.
    assert w.disk_shortfall(30, 100, 80, 10) == (30, True)
    # Nothing to download: no space needed, not even the margin.
    assert w.disk_shortfall(0, 0, 0, 10) == (0, True)


def test_stamp_trusts_only_the_same_size_mtime_and_hash():
    stamp = {"files": {"a": w.stamp_entry(5, 123, "f" * 64)}}
    assert w.stamp_says_verified(stamp, "a", 5, 123, "f" * 64)
    assert not w.stamp_says_verified(stamp, "a", 5, 124, "f" * 64)  # touched
    assert not w.stamp_says_verified(stamp, "a", 6, 123, "f" * 64)  # resized
    assert not w.stamp_says_verified(stamp, "a", 5, 123, "e" * 64)  # another expected file


# ---- the modules on real files ------------------------------------------------------------


def write(directory: Path, name: str, data: bytes) -> dict:
    (directory / name).write_bytes(data)
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_verify_hashes_once_then_trusts_the_stamp(tmp_path, module_runner):
    item = write(tmp_path, "a.gguf", b"GGUF" + b"x" * 100)
    args = {"directory": str(tmp_path), "files": [item], "stamp": str(tmp_path / ".v.json")}
    failed, first = module_runner(weights_verify.main, args)
    assert not failed and first["hashed"] == ["a.gguf"] and first["changed"]
    failed, second = module_runner(weights_verify.main, args)
    assert second["hashed"] == [] and second["verified"] == ["a.gguf"] and not second["changed"]


def test_verify_keeps_a_damaged_download_until_a_verified_copy_replaces_it(tmp_path, module_runner):
    item = write(tmp_path, "a.gguf", b"GGUF" + b"x" * 100)
    args = {"directory": str(tmp_path), "files": [item], "stamp": str(tmp_path / ".v.json")}
    module_runner(weights_verify.main, args)  # recorded: the role's own file from now on
    (tmp_path / "a.gguf").write_bytes(b"GGUF" + b"y" * 100)
    (tmp_path / ".incoming").mkdir()
    (tmp_path / ".incoming" / "a.gguf.part").write_bytes(b"z" * 7)
    failed, result = module_runner(weights_verify.main, args)
    assert not failed and result["missing"] == ["a.gguf"]
    assert result["bad"][0]["reason"].startswith("sha256 ")
    # Not removed: it stays (and stays recorded) until the new copy is verified.
    assert (tmp_path / "a.gguf").read_bytes() == b"GGUF" + b"y" * 100
    assert "a.gguf" in json.loads((tmp_path / ".v.json").read_text())["files"]
    assert result["bytes_partial"] == 7 and result["bytes_missing"] == 104

    (tmp_path / ".incoming" / "a.gguf.part").unlink()
    (tmp_path / ".incoming" / "a.gguf").write_bytes(b"GGUF" + b"x" * 100)
    failed, result = module_runner(weights_verify.main, {**args, "settle": True})
    assert not failed and result["settled"] == ["a.gguf"] and result["missing"] == []
    assert (tmp_path / "a.gguf").read_bytes() == b"GGUF" + b"x" * 100
    assert not (tmp_path / ".incoming" / "a.gguf").exists()


def test_verify_refuses_a_wrong_file_it_did_not_download_and_leaves_it(tmp_path, module_runner):
    item = write(tmp_path, "a.gguf", b"GGUF" + b"x" * 100)
    (tmp_path / "a.gguf").write_bytes(b"GGUF" + b"y" * 100)  # someone's own copy, not the role's
    args = {"directory": str(tmp_path), "files": [item], "stamp": str(tmp_path / ".v.json")}
    before = snapshot(tmp_path)
    failed, result = module_runner(weights_verify.main, args)
    assert failed
    assert f"{tmp_path}/a.gguf is not the file the source publishes (sha256 " in result["msg"]
    assert "this role did not download it" in result["msg"]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["final", "staged", "folder"])
def test_verify_never_follows_a_link_in_the_model_folder(tmp_path, module_runner, where):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "a.gguf").write_bytes(b"precious")
    model = tmp_path / "model"
    item = {"name": "a.gguf", "size": 8, "sha256": "0" * 64, "sha256_from": "list"}
    if where == "folder":
        model.symlink_to(target)
    else:
        (model / ".incoming").mkdir(parents=True)
        link = model / "a.gguf" if where == "final" else model / ".incoming" / "a.gguf"
        link.symlink_to(target / "a.gguf")
    args = {
        "directory": str(model),
        "files": [item],
        "stamp": str(model / ".v.json"),
        "settle": True,
    }
    before = snapshot(tmp_path)
    failed, result = module_runner(weights_verify.main, args)
    assert failed and "Nothing was changed" in result["msg"]
    assert " is a link, not a " in result["msg"], result["msg"]
    assert snapshot(tmp_path) == before
    assert (target / "a.gguf").read_bytes() == b"precious"


def mismatch_setup(tmp_path, module_runner):
    """A URL download whose listed sha256 is wrong: the file the mirror serves is good."""
    data = b"GGUF" + b"m" * 200
    actual = hashlib.sha256(data).hexdigest()
    wrong = "1" * 64
    item = {"name": "m.gguf", "size": len(data), "sha256": wrong, "sha256_from": "list"}
    (tmp_path / ".incoming").mkdir()
    (tmp_path / ".incoming" / "m.gguf").write_bytes(data)
    args = {
        "directory": str(tmp_path),
        "files": [item],
        "stamp": str(tmp_path / ".v.json"),
        "where": "1 URL(s) from weights_urls",
    }
    failed, result = module_runner(weights_verify.main, {**args, "settle": True})
    return data, actual, wrong, item, args, failed, result


def test_a_download_with_another_sha256_is_kept_aside_and_named(tmp_path, module_runner):
    data, actual, wrong, _item, _args, failed, result = mismatch_setup(tmp_path, module_runner)
    aside = tmp_path / "m.gguf.sha256-mismatch"
    assert failed and result["set_aside"] == ["m.gguf"]
    message = result["msg"]
    assert "Checksum mismatch: m.gguf as downloaded from 1 URL(s) from weights_urls" in message
    assert f"has sha256 {actual}, expected sha256 {wrong} (weights_urls)" in message
    assert f"kept as {aside}" in message
    assert f"set the sha256 of m.gguf's entry in weights_urls to {actual}" in message
    assert aside.read_bytes() == data and not (tmp_path / "m.gguf").exists()
    record = json.loads((tmp_path / ".v.json").read_text())["mismatch"]["m.gguf"]
    assert record["sha256"] == actual and record["expected"] == wrong


def test_a_kept_mismatch_is_refused_on_every_later_run_without_a_change(tmp_path, module_runner):
    _data, actual, wrong, _item, args, _failed, _result = mismatch_setup(tmp_path, module_runner)
    before = snapshot(tmp_path)
    for settle in (False, True):
        failed, result = module_runner(weights_verify.main, {**args, "settle": settle})
        assert failed
        assert (
            f"{tmp_path}/m.gguf.sha256-mismatch holds m.gguf as downloaded earlier" in result["msg"]
        )
        assert f"expected sha256 {wrong} (weights_urls)" in result["msg"]
        assert "is not fetched again while that file is there" in result["msg"]
        assert snapshot(tmp_path) == before


def test_the_corrected_sha256_puts_the_kept_file_in_place_without_hashing(tmp_path, module_runner):
    data, actual, _wrong, item, args, _failed, _result = mismatch_setup(tmp_path, module_runner)
    fixed = {**args, "files": [{**item, "sha256": actual}]}
    failed, plan = module_runner(weights_verify.main, fixed)
    assert not failed and plan["restorable"] == ["m.gguf"] and plan["missing"] == []
    failed, result = module_runner(weights_verify.main, {**fixed, "settle": True})
    assert not failed and result["settled"] == ["m.gguf"] and result["hashed"] == []
    assert (tmp_path / "m.gguf").read_bytes() == data
    assert not (tmp_path / "m.gguf.sha256-mismatch").exists()
    stamp = json.loads((tmp_path / ".v.json").read_text())
    assert stamp["mismatch"] == {} and stamp["files"]["m.gguf"]["sha256"] == actual
    failed, again = module_runner(weights_verify.main, fixed)
    assert not failed and again["verified"] == ["m.gguf"] and not again["changed"]


def test_removing_the_kept_file_lets_the_next_run_fetch_again(tmp_path, module_runner):
    _data, _actual, _wrong, _item, args, _failed, _result = mismatch_setup(tmp_path, module_runner)
    (tmp_path / "m.gguf.sha256-mismatch").unlink()
    failed, result = module_runner(weights_verify.main, args)
    assert not failed and result["missing"] == ["m.gguf"]
    assert json.loads((tmp_path / ".v.json").read_text())["mismatch"] == {}


def test_a_changed_or_unknown_kept_file_is_refused(tmp_path, module_runner):
    _data, _actual, _wrong, item, args, _failed, _result = mismatch_setup(tmp_path, module_runner)
    aside = tmp_path / "m.gguf.sha256-mismatch"
    os.utime(aside, ns=(1, 1))  # not as the role left it
    failed, result = module_runner(weights_verify.main, args)
    assert failed and "is there, but not as this role left it" in result["msg"]
    # A third sha256, which the kept file does not hold either.
    os.utime(aside, ns=(1, 1))
    stamp = json.loads((tmp_path / ".v.json").read_text())
    stamp["mismatch"]["m.gguf"]["mtime_ns"] = 1
    (tmp_path / ".v.json").write_text(json.dumps(stamp))
    failed, result = module_runner(
        weights_verify.main, {**args, "files": [{**item, "sha256": "2" * 64}]}
    )
    assert failed and "which is neither the sha256 expected then" in result["msg"]


def test_check_mode_settles_nothing(tmp_path, module_runner):
    data = b"GGUF" + b"c" * 50
    item = {"name": "c.gguf", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (tmp_path / ".incoming").mkdir()
    (tmp_path / ".incoming" / "c.gguf").write_bytes(data)
    args = {"directory": str(tmp_path), "files": [item], "stamp": str(tmp_path / ".v.json")}
    before = snapshot(tmp_path)
    failed, result = module_runner(
        weights_verify.main, {**args, "settle": True, "_ansible_check_mode": True}
    )
    assert not failed and result["changed"] and result["settled"] == ["c.gguf"]
    assert snapshot(tmp_path) == before


def snapshot(folder: Path) -> dict:
    """Every entry under folder with its kind, size, mtime and link target (never followed)."""
    entries = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.lstat()
            link = os.readlink(path) if path.is_symlink() else None
            entries[str(path)] = (st.st_mode, st.st_size, st.st_mtime_ns, link)
    return entries


def test_verify_writes_nothing_when_the_folder_is_missing(tmp_path, module_runner):
    missing = tmp_path / "models" / "m"
    item = {"name": "a.gguf", "size": 3, "sha256": "0" * 64}
    args = {"directory": str(missing), "files": [item], "stamp": str(missing / ".v.json")}
    failed, result = module_runner(weights_verify.main, args)
    assert not failed and not result["changed"] and result["free_path"] == str(tmp_path)
    assert not missing.exists()


@pytest.fixture
def fake_hub(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "fake_hub", Path(__file__).parents[1] / "testbed" / "fake_hub.py"
    )
    fake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake)
    root = tmp_path / "hub"
    (root / "files").mkdir(parents=True)
    for i, size in enumerate((300, 500, 400), start=1):
        (root / "files" / f"m-0000{i}-of-00003.gguf").write_bytes(os.urandom(size))
    (root / "files" / "README.md").write_text("# fake\n")
    (root / "repo.json").write_text(json.dumps({"repo": "org/m", "commit": "c" * 40}))
    state = fake.State(root, "tok", 0, 2, "http://127.0.0.1:1", b"k")
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.make_handler(state, "hub"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_manifest_reads_every_page_of_the_hubs_listing(fake_hub, tmp_path, module_runner):
    endpoint, root = fake_hub
    args = {
        "kind": "hf",
        "endpoint": endpoint,
        "repo": "org/m",
        "revision": "c" * 40,
        "patterns": ["m-*.gguf"],
        "token": "tok",
        "directory": str(tmp_path / "model"),
        "stamp": str(tmp_path / "model" / ".v.json"),
    }
    failed, result = module_runner(weights_manifest.main, args)
    assert not failed, result
    expected = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "files").glob("*.gguf")
    }
    # Page size 2 over 4 files: the shards span two pages, joined through the Link header.
    assert {item["name"]: item["sha256"] for item in result["files"]} == expected
    assert result["total_bytes"] == 1200 and not result["from_stamp"]


def test_manifest_reports_a_refused_token_with_a_hint(fake_hub, tmp_path, module_runner):
    endpoint, _root = fake_hub
    args = {
        "kind": "hf",
        "endpoint": endpoint,
        "repo": "org/m",
        "revision": "main",
        "patterns": ["*.gguf"],
        "token": "wrong",
        "directory": str(tmp_path),
    }
    failed, result = module_runner(weights_manifest.main, args)
    assert failed and "the Hub refused the token" in result["msg"]
