"""What a user checks after the weights role fetched a model on the simulated Spark.

The Hub cannot be reached from the test bed: tests/testbed/fake_hub.py, started by prepare.yml
inside the container on 127.0.0.1, reproduces the real Hub's responses that `hf download`
(huggingface_hub 1.17.0) relies on: model info (``/api/models/{repo}/revision/{rev}``), the
paginated tree listing with each LFS file's sha256 (``/api/models/{repo}/tree/{rev}``), ``HEAD
/resolve`` answering 302 to a CDN host with ``X-Repo-Commit``, ``X-Linked-Etag``,
``X-Linked-Size``, and ranged ``GET`` (206) on the CDN; plus a plain mirror for URL mode. It
requires ``Authorization: Bearer <token>``, can drop a connection after N bytes once, and can
serve one byte changed. Its shards are random bytes under the real repository's file names
(2 MB, 24 MB, 12 MB: shard 2 is larger than huggingface_hub's 10 MiB write chunk, so an
interrupted transfer leaves a partial file on disk).

Tests run in file order: state first, then re-runs with faults.
"""

from __future__ import annotations

import json
import re
import shlex

import interrupt
import pytest
from conftest import run_playbook

TOKEN = "hf_sparkopsTESTtoken123"
MODEL_DIR = "/var/lib/sparkops/models/gpt-oss-120b"
FACTS = "/etc/ansible/facts.d/sparkops.fact"
FAKE = "/srv/fake-hub"
SHARDS = [f"gpt-oss-120b-mxfp4-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
SIZES = {SHARDS[0]: 2000000, SHARDS[1]: 24000000, SHARDS[2]: 12000000}


def flat(text: str) -> str:
    return " ".join(text.split())


def published_sha256(host) -> dict:
    out = host.check_output(f"cd {FAKE}/files && sha256sum *.gguf")
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}


def sha256_on_disk(host, name, directory=MODEL_DIR) -> str:
    return host.check_output(f"sha256sum {directory}/{name}").split()[0]


def set_faults(host, faults: dict) -> None:
    host.check_output(f"printf %s {shlex.quote(json.dumps(faults))} > {FAKE}/faults.json")


def clear_requests(host) -> None:
    host.check_output(f"truncate -s 0 {FAKE}/requests.log")


def requests(host) -> list[dict]:
    text = host.file(f"{FAKE}/requests.log").content_string
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def converge(scenario_dir, extra=None, *args):
    return run_playbook(scenario_dir / "converge.yml", extra, *args)


def model_snapshot(host, directory=MODEL_DIR) -> str:
    """Every entry under the model folder: kind, size, mtime, mode, owner, link target."""
    return host.check_output(f"find {directory} -printf '%p %y %s %T@ %m %u:%g %l\\n' | sort")


# What a refused setting could have touched: the collection's folders (every entry) and the
# system and user folders a bad setting names (their kind, mode and owner).
TREES = " ".join(
    ["/var/lib/sparkops", "/opt/sparkops", "/var/log/sparkops", "/var/cache/sparkops/huggingface"]
    + ["/etc/sparkops"]
)
TOPS = "/ /var /var/lib /var/log /usr /home /home/dev /root /opt"


def host_snapshot(host) -> str:
    trees = host.check_output(f"find {TREES} -printf '%p %y %s %T@ %m %u:%g %l\\n' | sort")
    tops = host.check_output(f"stat -c '%n %F %a %U:%G' {TOPS}")
    home = host.check_output("find /home/dev -printf '%p %y %s %T@ %m %u:%g\\n' | sort")
    return trees + tops + home


@pytest.fixture(autouse=True)
def no_faults_left(host):
    yield
    set_faults(host, {})


def test_the_three_shards_match_the_hubs_sha256(host):
    published = published_sha256(host)
    assert sorted(published) == SHARDS
    for name in SHARDS:
        assert host.file(f"{MODEL_DIR}/{name}").size == SIZES[name]
        assert sha256_on_disk(host, name) == published[name], name
    # The README of the repository was not asked for (weights_hf_files patterns).
    assert not host.file(f"{MODEL_DIR}/README.md").exists


def test_facts_give_the_engine_the_first_shard_size_and_hashes(host):
    model = json.loads(host.file(FACTS).content_string)["model"]
    assert model["name"] == "gpt-oss-120b"
    assert model["alias"] == "gpt-oss-120b"
    assert model["dir"] == MODEL_DIR
    assert model["path"] == f"{MODEL_DIR}/{SHARDS[0]}"
    assert model["bytes"] == sum(SIZES.values())
    assert model["sha256"] == published_sha256(host)


def test_hub_token_file_is_root_only(host):
    token_file = host.file("/etc/sparkops/hf-token")
    assert token_file.mode == 0o600 and token_file.user == "root"
    assert host.file("/etc/sparkops").mode == 0o750


def test_rerun_neither_downloads_nor_hashes(host, scenario_dir):
    clear_requests(host)
    stamp_before = host.file(f"{MODEL_DIR}/.verified.json").content_string
    run = converge(scenario_dir, None, "-v")
    assert run.returncode == 0, run.describe()
    assert run.changed == 0, run.describe()
    # Pinned commit + stamp (size and mtime unchanged): not even a metadata request.
    assert requests(host) == []
    assert "hashed: []" in run.output, run.describe()
    assert host.file(f"{MODEL_DIR}/.verified.json").content_string == stamp_before


def test_download_resumes_after_the_server_drops_the_connection(host, scenario_dir):
    host.check_output(f"rm -f {MODEL_DIR}/{SHARDS[1]}")
    set_faults(host, {"drop_after": {SHARDS[1]: 15000000}})
    clear_requests(host)
    run = converge(scenario_dir)
    assert run.returncode == 0, run.describe()
    gets = [r for r in requests(host) if r["server"] == "cdn" and r.get("file") == SHARDS[1]]
    # First GET dropped after 15 MB (10 MiB of it reached the disk: hf writes 10 MiB chunks),
    # the retry asked only for the rest with Range and got 206.
    assert gets[0]["dropped"] is True and gets[0]["sent"] == 15000000, gets
    resumed = gets[1]
    start = int(re.match(r"bytes=(\d+)-", resumed["range"]).group(1))
    assert start > 0 and resumed["status"] == 206, gets
    assert resumed["sent"] == SIZES[SHARDS[1]] - start, gets
    assert len(gets) == 2, gets
    assert sha256_on_disk(host, SHARDS[1]) == published_sha256(host)[SHARDS[1]]
    log = host.file("/var/log/sparkops/weights-gpt-oss-120b.log").content_string
    assert "attempt 2 of 5" in log and "peer closed connection" in log
    # Progress was shown while the download ran: bytes on disk out of the total.
    assert re.search(r"\d+ of 38000000 bytes on disk \(\d+%", flat(run.output)), run.describe()


def test_a_download_killed_midway_leaves_nothing_at_the_name_and_the_next_run_resumes(
    host, scenario_dir
):
    host.check_output(f"rm -f {MODEL_DIR}/{SHARDS[1]}")
    # Slow enough (24 MB at 1.5 MB/s) to be stopped after hf wrote its first 10 MiB block.
    set_faults(host, {"rate": {SHARDS[1]: 1500000}})
    partial = f"[ -n \"$(find {MODEL_DIR}/.incoming -name '*.incomplete' -size +10485759c)\" ]"
    interrupt.arm(host, partial, "/opt/sparkops/weights/fetch-gpt-oss-120b.sh")
    run = converge(scenario_dir)
    assert interrupt.killed(host), run.describe()
    assert run.returncode != 0, run.describe()
    assert re.search(r"download of gpt-oss-120b \(1 file\(s\)\) failed \(rc=", flat(run.output))
    # Killed part-way: the partial file is in the staging folder, nothing at the model's name.
    assert not host.file(f"{MODEL_DIR}/{SHARDS[1]}").exists
    names = host.check_output(f"ls -A {MODEL_DIR}").split()
    assert sorted(names) == sorted([".incoming", ".verified.json", SHARDS[0], SHARDS[2]]), names

    set_faults(host, {})
    clear_requests(host)
    repaired = converge(scenario_dir)
    assert repaired.returncode == 0, repaired.describe()
    assert sha256_on_disk(host, SHARDS[1]) == published_sha256(host)[SHARDS[1]]
    gets = [r for r in requests(host) if r["server"] == "cdn" and r.get("file") == SHARDS[1]]
    start = int(re.match(r"bytes=(\d+)-", gets[0]["range"] or "bytes=0-").group(1))
    assert start >= 10485760 and gets[0]["status"] == 206, gets  # resumed, not started over
    assert host.run(f"find {MODEL_DIR}/.incoming -name '*.incomplete'").stdout.strip() == ""
    assert converge(scenario_dir).changed == 0


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        # One byte changed in the middle, same size: only the sha256 can tell.
        (
            "python3 -c \"import sys; f=open(sys.argv[1],'r+b'); f.seek(6000000); "
            'b=f.read(1); f.seek(6000000); f.write(bytes([b[0]^255]))" {path}',
            "is bad (sha256",
        ),
        # Cut short, as a copy that died midway.
        ("truncate -s 5000000 {path}", "is bad (size 5000000 bytes, expected 12000000)"),
    ],
    ids=["corrupt", "incomplete"],
)
def test_a_damaged_file_is_detected_and_fetched_again(host, scenario_dir, damage, reason):
    path = f"{MODEL_DIR}/{SHARDS[2]}"
    host.check_output(damage.format(path=path))
    assert sha256_on_disk(host, SHARDS[2]) != published_sha256(host)[SHARDS[2]]
    clear_requests(host)
    run = converge(scenario_dir)
    assert run.returncode == 0, run.describe()
    assert reason in flat(run.output), run.describe()
    assert "it is fetched again" in flat(run.output)
    assert sha256_on_disk(host, SHARDS[2]) == published_sha256(host)[SHARDS[2]]
    fetched = {r.get("file") for r in requests(host) if r["server"] == "cdn"}
    assert fetched == {SHARDS[2]}  # only the damaged shard travelled again

    again = converge(scenario_dir)
    assert again.changed == 0, again.describe()


def test_a_source_serving_other_bytes_than_it_publishes_stops_and_keeps_the_file(
    host, scenario_dir
):
    host.check_output(f"rm -f {MODEL_DIR}/{SHARDS[0]}")
    set_faults(host, {"corrupt": [SHARDS[0]]})
    run = converge(scenario_dir)
    assert run.returncode != 0, run.describe()
    message = flat(run.output)
    expected = published_sha256(host)[SHARDS[0]]
    aside = f"{MODEL_DIR}/{SHARDS[0]}.sha256-mismatch"
    assert f"Checksum mismatch: {SHARDS[0]} as downloaded from" in message, run.describe()
    assert f"expected sha256 {expected} (the Hub's LFS metadata" in message, run.describe()
    assert f"The download is kept as {aside} and is not fetched again" in message
    # Nothing unverified ever takes the file's name; the download is kept, not deleted.
    assert not host.file(f"{MODEL_DIR}/{SHARDS[0]}").exists
    assert host.file(aside).size == SIZES[SHARDS[0]]

    # The next run refuses before fetching anything, and changes nothing, until the user acts.
    set_faults(host, {})
    clear_requests(host)
    before = model_snapshot(host)
    again = converge(scenario_dir)
    assert again.returncode != 0, again.describe()
    assert f"{aside} holds {SHARDS[0]} as downloaded earlier" in flat(again.output)
    assert f"remove {aside} to fetch it again" in flat(again.output)
    assert [r for r in requests(host) if r["server"] == "cdn"] == []
    assert model_snapshot(host) == before

    host.check_output(f"rm -f {aside}")
    healed = converge(scenario_dir)
    assert healed.returncode == 0, healed.describe()
    assert sha256_on_disk(host, SHARDS[0]) == expected


def test_a_pin_that_disagrees_with_the_hub_is_refused(host, scenario_dir):
    extra = {
        "weights_models_dir": "/var/lib/sparkops/models-pin",
        "weights_hf_sha256": {SHARDS[0]: "0" * 64},
    }
    run = converge(scenario_dir, extra)
    assert run.returncode != 0
    assert f"but weights_hf_sha256 pins {'0' * 64}" in flat(run.output), run.describe()
    assert not host.file("/var/lib/sparkops/models-pin").exists


def test_a_disk_too_small_fails_before_any_byte_is_written(host, scenario_dir):
    clear_requests(host)
    extra = {
        "weights_models_dir": "/var/lib/sparkops/models-small",
        "weights_min_free_margin_gib": 100000,
    }
    run = converge(scenario_dir, extra)
    assert run.returncode != 0
    message = flat(run.output)
    needed = sum(SIZES.values()) + 100000 * 1024**3
    match = re.search(
        r"Not enough free disk for gpt-oss-120b in /var/lib/sparkops/models-small/gpt-oss-120b: "
        r"(\d+) bytes \([\d.]+ GiB\) free on the file system of (\S+), (\d+) bytes",
        message,
    )
    assert match, run.describe()
    assert int(match.group(3)) == needed
    assert int(match.group(1)) < needed
    assert not host.file("/var/lib/sparkops/models-small").exists
    assert [r for r in requests(host) if r["server"] == "cdn"] == []


def test_a_wrong_token_is_refused_with_a_hint(host, scenario_dir):
    extra = {
        "weights_models_dir": "/var/lib/sparkops/models-token",
        "weights_hf_token": "hf_WRONGtoken456",
    }
    run = converge(scenario_dir, extra, "-vvv")
    assert run.returncode != 0
    assert "the Hub refused the token" in flat(run.output), run.describe()
    assert "hf_WRONGtoken456" not in run.output


def test_the_token_never_shows_in_output_process_list_or_files(host, scenario_dir):
    host.check_output(f"printf %s {TOKEN} > /root/token-pattern")
    host.check_output("rm -f /root/token-leaks /root/ps-samples")
    host.check_output(
        "systemd-run --unit=sparkops-token-sampler --collect /bin/sh -c "
        "'for i in $(seq 1 3000); do "
        "grep -lsF -f /root/token-pattern /proc/[0-9]*/cmdline >> /root/token-leaks; "
        "ps -eww -o args >> /root/ps-samples; sleep 0.05; done'"
    )
    host.check_output(f"rm -f {MODEL_DIR}/{SHARDS[1]}")
    try:
        run = converge(scenario_dir, None, "-vvv")
    finally:
        host.run("systemctl stop sparkops-token-sampler")
    assert run.returncode == 0, run.describe()
    assert TOKEN not in run.output
    # The sampler saw the download running, and no process ever had the token in its arguments.
    assert "hf download ggml-org/gpt-oss-120b-GGUF" in host.file("/root/ps-samples").content_string
    assert host.run("cat /root/token-leaks").stdout.strip() == ""
    # Nothing but the root-only token file holds it.
    leaks = host.run(
        "grep -rlsF -f /root/token-pattern /etc/sparkops /etc/ansible /var/lib/sparkops "
        "/var/log/sparkops /opt/sparkops /var/cache/sparkops"
    ).stdout.split()
    assert leaks == ["/etc/sparkops/hf-token"]


def test_url_mode_resumes_with_curl_and_verifies(host, scenario_dir):
    published = published_sha256(host)
    urls = [{"url": f"http://127.0.0.1:8789/mirror/{n}", "sha256": published[n]} for n in SHARDS]
    extra = {
        "weights_model_name": "gpt-oss-120b-mirror",
        "weights_source": "url",
        "weights_urls": urls,
    }
    set_faults(host, {"drop_after": {SHARDS[1]: 15000000}})
    clear_requests(host)
    run = converge(scenario_dir, extra)
    assert run.returncode == 0, run.describe()
    directory = "/var/lib/sparkops/models/gpt-oss-120b-mirror"
    for name in SHARDS:
        assert sha256_on_disk(host, name, directory) == published[name]
    gets = [r for r in requests(host) if r["method"] == "GET" and r.get("file") == SHARDS[1]]
    assert gets[0].get("dropped") and gets[1]["range"] == "bytes=15000000-", gets
    assert gets[1]["status"] == 206 and gets[1]["sent"] == 9000000, gets
    model = json.loads(host.file(FACTS).content_string)["model"]
    assert model["dir"] == directory and model["sha256"] == published

    again = converge(scenario_dir, extra)
    assert again.changed == 0, again.describe()


def test_a_link_at_a_model_files_name_is_refused_and_never_followed(host, scenario_dir):
    path = f"{MODEL_DIR}/{SHARDS[2]}"
    host.check_output(f"mv {path} /root/shard3 && printf precious > /root/precious")
    host.check_output(f"ln -s /root/precious {path}")
    try:
        before = model_snapshot(host)
        run = converge(scenario_dir)
        assert run.returncode != 0, run.describe()
        assert f"{path} is a link, not a file this role downloaded" in flat(run.output)
        assert model_snapshot(host) == before
        assert host.file("/root/precious").content_string == "precious"
    finally:
        host.check_output(f"rm -f {path} && mv /root/shard3 {path}")
    # The shard put back as it was is known again by its record: nothing is fetched.
    clear_requests(host)
    back = converge(scenario_dir)
    assert back.returncode == 0, back.describe()
    assert [r for r in requests(host) if r["server"] == "cdn"] == []


BAD_INPUTS = [
    (
        {"weights_models_dir": "/var/lib"},
        "weights_models_dir is /var/lib, which is a system folder",
        True,
    ),
    (
        {"weights_models_dir": "/home"},
        "weights_models_dir is /home, which is a system folder",
        False,
    ),
    (
        {"weights_models_dir": "/var/lib/sparkops"},
        "weights_models_dir is /var/lib/sparkops, which is a folder the collection's roles share",
        False,
    ),
    (
        {"weights_models_dir": "/home/dev"},
        "weights_models_dir is /home/dev, which already holds files this collection did not put",
        True,
    ),
    (
        {"weights_log_dir": "/var/log"},
        "weights_log_dir is /var/log, which is a system folder",
        False,
    ),
    ({"weights_hf_venv": "/usr"}, "weights_hf_venv is /usr, which is a system folder", False),
    (
        {"weights_hf_sha256": {SHARDS[0]: "abc123"}},
        f"weights_hf_sha256 pins 'abc123' for {SHARDS[0]}: a sha256 is 64 hex digits",
        True,
    ),
    (
        {
            "weights_source": "url",
            "weights_urls": [{"url": "http://127.0.0.1:8789/mirror/x.gguf", "sha256": "xyz"}],
        },
        "weights_urls entry 1 (http://127.0.0.1:8789/mirror/x.gguf) needs a sha256 of 64 hex "
        "digits (got 'xyz')",
        True,
    ),
    (
        {
            "weights_source": "url",
            "weights_urls": [{"url": "file:///etc/shadow", "sha256": "a" * 64}],
        },
        "weights_urls entry 1 needs a url that starts with http:// or https://",
        False,
    ),
]


# One input per refusing task also runs under --check: each refusal holds there too.
@pytest.mark.parametrize(("extra", "expected", "also_check"), BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_bad_input_fails_clearly_and_changes_nothing(
    host, scenario_dir, extra, expected, also_check
):
    before = host_snapshot(host)
    for mode in ([], ["--check"]) if also_check else ([],):
        run = converge(scenario_dir, extra, *mode)
        assert run.returncode != 0, run.describe()
        assert expected in flat(run.output), run.describe()
        assert run.changed == 0, run.describe()
        assert host_snapshot(host) == before, mode


def test_a_wrong_sha256_in_weights_urls_stops_once_and_is_fixed_without_a_download(
    host, scenario_dir
):
    published = published_sha256(host)
    wrong = "0" * 64
    directory = "/var/lib/sparkops/models/gpt-oss-120b-wrongsha"
    aside = f"{directory}/{SHARDS[2]}.sha256-mismatch"

    def extra(sha256_of_shard3):
        urls = [
            {"url": f"http://127.0.0.1:8789/mirror/{n}", "sha256": published[n]} for n in SHARDS
        ]
        urls[2]["sha256"] = sha256_of_shard3
        return {
            "weights_model_name": "gpt-oss-120b-wrongsha",
            "weights_source": "url",
            "weights_urls": urls,
        }

    clear_requests(host)
    run = converge(scenario_dir, extra(wrong))
    assert run.returncode != 0, run.describe()
    message = flat(run.output)
    assert (
        f"Checksum mismatch: {SHARDS[2]} as downloaded from 3 URL(s) from weights_urls" in message
    )
    assert f"has sha256 {published[SHARDS[2]]}, expected sha256 {wrong} (weights_urls)" in message
    assert f"set the sha256 of {SHARDS[2]}'s entry in weights_urls to {published[SHARDS[2]]}" in (
        message
    )
    assert host.file(aside).size == SIZES[SHARDS[2]]
    assert not host.file(f"{directory}/{SHARDS[2]}").exists

    # Not fetched again: every later run stops at once, with nothing changed.
    clear_requests(host)
    before = model_snapshot(host, directory)
    for _ in range(2):
        again = converge(scenario_dir, extra(wrong))
        assert again.returncode != 0 and again.changed == 0, again.describe()
        assert f"{aside} holds {SHARDS[2]} as downloaded earlier" in flat(again.output)
    assert [r for r in requests(host) if r["method"] == "GET"] == []
    assert model_snapshot(host, directory) == before

    # The corrected sha256 is what the kept file holds: it takes its name, no byte travels.
    fixed = converge(scenario_dir, extra(published[SHARDS[2]]))
    assert fixed.returncode == 0, fixed.describe()
    assert sha256_on_disk(host, SHARDS[2], directory) == published[SHARDS[2]]
    assert not host.file(aside).exists
    assert [r for r in requests(host) if r["method"] == "GET"] == []
    assert converge(scenario_dir, extra(published[SHARDS[2]])).changed == 0


CHECKPOINT_DIR = "/var/lib/sparkops/models/gpt-oss-120b-safetensors"
CHECKPOINT_FAKE = "/srv/fake-hub-checkpoint"


def test_sglangs_checkpoint_comes_from_the_profile_into_its_own_folder(host, scenario_dir):
    gguf_before = model_snapshot(host)
    run = run_playbook(scenario_dir / "converge-checkpoint.yml")
    assert run.returncode == 0, run.describe()
    published = dict(
        reversed(line.split())
        for line in host.check_output(f"cd {CHECKPOINT_FAKE}/files && sha256sum *").splitlines()
    )
    # The profile's patterns: every shard and the loading files, not what else the repository has.
    wanted = sorted(name for name in published if name != "README.md")
    on_disk = host.check_output(f"ls {CHECKPOINT_DIR}").split()
    assert sorted(on_disk) == wanted
    for name in wanted:
        assert sha256_on_disk(host, name, CHECKPOINT_DIR) == published[name], name
    # The .json files are kept in git by the Hub: their sha256 came from content checked
    # against the listed blob id; the shards' from the LFS metadata.
    stamp = json.loads(host.file(f"{CHECKPOINT_DIR}/.verified.json").content_string)
    origin = {item["name"]: item["sha256_from"] for item in stamp["manifest"]}
    assert origin["config.json"] == "git" and origin["model-00000-of-00014.safetensors"] == "hub"
    model = json.loads(host.file(FACTS).content_string)["model"]
    assert model["format"] == "safetensors"
    assert model["dir"] == model["path"] == CHECKPOINT_DIR
    assert model["source"] == "hf:openai/gpt-oss-120b@b5c939de8f754692c1647ca79fbf85e8c1e70f8a"
    # The GGUF that llama-server serves is left as it was, for a switch back.
    assert model_snapshot(host) == gguf_before
    again = run_playbook(scenario_dir / "converge-checkpoint.yml")
    assert again.returncode == 0 and again.changed == 0, again.describe()
