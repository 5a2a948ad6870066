"""The S3 API of a real `kumo up`, with an EC2 credential from the `openstack` CLI: a
bucket boto3 makes is a container `openstack container list` shows, and a container
the CLI makes is a bucket boto3 lists and fills; the `aws` CLI's s3 commands."""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.config
import pytest

from tests.integration.identity.conftest import KumoProcess, running_kumo
from tests.integration.openstack_cli import Cli, admin_cli


@pytest.fixture(scope="module")
def kumo(server_url: str, template_url: str) -> Iterator[KumoProcess]:
    with running_kumo(server_url) as process:
        yield process


def test_buckets_and_containers_are_one(kumo: KumoProcess, tmp_path: Path) -> None:
    cli: Cli = admin_cli(kumo, tmp_path)
    listed = cli("endpoint", "list", "--service", "s3", "--interface", "public", "-f", "json")
    (endpoint,) = json.loads(listed)
    credential = json.loads(cli("ec2", "credentials", "create", "-f", "json"))
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint["URL"],
        aws_access_key_id=credential["access"],
        aws_secret_access_key=credential["secret"],
        region_name="RegionOne",
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket="from-s3")
    s3.put_object(Bucket="from-s3", Key="notes/a.txt", Body=b"made through S3")
    containers = json.loads(cli("container", "list", "-f", "json"))
    assert "from-s3" in [c["Name"] for c in containers]
    objects = json.loads(cli("object", "list", "from-s3", "-f", "json"))
    assert [o["Name"] for o in objects] == ["notes/a.txt"]
    cli("container", "create", "from-swift")
    assert "from-swift" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.put_object(Bucket="from-swift", Key="k", Body=b"x")
    shown = json.loads(cli("object", "show", "from-swift", "k", "-f", "json"))
    assert shown["content-length"] == "1"


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed")
def test_the_aws_cli(kumo: KumoProcess, tmp_path: Path) -> None:
    cli: Cli = admin_cli(kumo, tmp_path)
    credential = json.loads(cli("ec2", "credentials", "create", "-f", "json"))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": credential["access"],
        "AWS_SECRET_ACCESS_KEY": credential["secret"],
        "AWS_DEFAULT_REGION": "RegionOne",
    }

    def aws(*args: str) -> str:
        command = ["aws", "--endpoint-url", f"{kumo.url}/s3", "s3", *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))  # over the CLI's 8 MiB: a multipart upload
    (tmp_path / "small.txt").write_text("small")
    aws("mb", "s3://cli-bucket")
    aws("cp", str(big), "s3://cli-bucket/dir/big.bin")
    aws("cp", str(tmp_path / "small.txt"), "s3://cli-bucket/small.txt")
    listing = aws("ls", "s3://cli-bucket/")
    assert "PRE dir/" in listing and "small.txt" in listing
    aws("cp", "s3://cli-bucket/dir/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    aws("rm", "--recursive", "s3://cli-bucket/")
    aws("rb", "s3://cli-bucket")
    assert "cli-bucket" not in aws("ls")
