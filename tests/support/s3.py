"""An S3 API server for tests: moto's standalone server on a free loopback port, reached over
HTTP by plain boto3 with an endpoint URL, as the app reaches AWS S3, R2 or MinIO.

    with s3_server() as s3:
        bucket = s3.new_bucket()
        s3.client().list_objects_v2(Bucket=bucket)
        s3.stop()   # the store becomes unreachable (connections refused)
        s3.start()  # back on the same port, with the same objects
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# moto accepts any credentials; the app is given them as it would be real ones.
ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass
class S3Server:
    port: int = 0
    _server: ThreadedMotoServer | None = field(default=None, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        self._server = server

    def stop(self) -> None:
        """Shut the server and close its socket: connections are refused until start()."""
        if self._server is not None:
            self._server.stop()
            wsgi = self._server._server
            if wsgi is not None:
                wsgi.server_close()
            self._server = None

    def client(self) -> S3Client:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def new_bucket(self) -> str:
        """An empty bucket of its own (moto's buckets outlive a test in this process)."""
        name = f"microdrama-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def publish_renditions(self, bucket: str, prefix: str = "media") -> None:
        """Let anyone read the renditions (encrypted segments, posters, thumbnails) and nothing
        else: the bucket policy docs/deploy.md gives operators who serve media from the bucket."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRenditions",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}/assets/*/hls/*",
                }
            ],
        }
        self.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def settings(self, bucket: str, prefix: str = "media") -> dict[str, Any]:
        """The app's storage settings for the bucket (field names of microdrama.config.Settings)."""
        return {
            "storage_url": f"s3://{bucket}/{prefix}",
            "storage_endpoint_url": self.endpoint_url,
            "storage_region": REGION,
            "storage_access_key_id": ACCESS_KEY_ID,
            "storage_secret_access_key": SECRET_ACCESS_KEY,
        }

    def env(self, bucket: str, prefix: str = "media") -> dict[str, str]:
        """The same settings as MICRODRAMA_ environment variables (a server process)."""
        return {f"MICRODRAMA_{k.upper()}": str(v) for k, v in self.settings(bucket, prefix).items()}


@contextmanager
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    try:
        yield server
    finally:
        server.stop()
