"""Which store holds the media (`open_storage`, from MICRODRAMA_STORAGE_URL), and the
S3-compatible one: AWS S3, Cloudflare R2, MinIO... spoken to through boto3 at its endpoint.

Objects live under the URL's prefix with their storage keys ("s3://media/prod" keeps
"assets/12/hls/master.m3u8" as media/prod/assets/12/hls/master.m3u8), stored with the content
type and cache policy a browser or CDN needs when it fetches them straight from the bucket.
Whatever goes wrong on the way to the store is a StorageUnavailable with the store's reason;
a missing object is a FileNotFoundError, as with the local folder.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from microdrama.config import Settings
from microdrama.storage import (
    READ_CHUNK_BYTES,
    LocalStorage,
    RangeNotSatisfiable,
    Storage,
    StorageUnavailable,
    StoredKey,
    StoredObject,
    cache_control,
    media_type,
    playlists_last,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

# A transcode's ladder is a few hundred small objects: uploaded side by side.
UPLOAD_THREADS = 8
# Files above this go up in parts (boto3's managed transfer); below it in one PUT.
MULTIPART_BYTES = 64 * 1024 * 1024
DELETE_BATCH = 1000  # S3's limit per DeleteObjects
PLAYLISTS_KEPT = 2048  # a few KiB each


def open_storage(settings: Settings) -> Storage:
    """The store the settings name: the folder data_dir/media, or a bucket (storage_url)."""
    if not settings.storage_url:
        return LocalStorage(settings.media_dir, settings.media_url_prefix)
    return S3Storage.from_settings(settings)


class S3Storage:
    """Objects in an S3-compatible bucket under a prefix; see the module's docstring."""

    def __init__(
        self,
        *,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        url_prefix: str = "/media",
        tmp_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url_prefix = url_prefix.rstrip("/")
        self.tmp_dir = tmp_dir
        # The gated routes read a stored playlist for every player's request; a playlist never
        # changes under its key once its asset is ready (a new video is a new asset), so each
        # process keeps the ones it has read rather than asking the bucket every time.
        self._playlists = _Recent(PLAYLISTS_KEPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        # boto3 costs a noticeable part of a second to import: only installs that use a
        # bucket pay for it (the embedded default never loads it).
        import boto3
        from botocore.config import Config

        url = urlsplit(settings.storage_url)
        config = Config(
            retries={"mode": "standard", "total_max_attempts": settings.storage_attempts},
            # A store that does not answer must not hold a worker or a request for minutes.
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
            # Endpoints other than AWS (MinIO, R2, a test server) are reached by path.
            s3={"addressing_style": "path" if settings.storage_endpoint_url else "auto"},
        )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.storage_endpoint_url or None,
            region_name=settings.storage_region or None,
            aws_access_key_id=settings.storage_access_key_id or None,
            aws_secret_access_key=settings.storage_secret_access_key or None,
            config=config,
        )
        tmp_dir = settings.data_dir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            client=client,
            bucket=url.netloc,
            prefix=url.path,
            url_prefix=settings.media_url_prefix,
            tmp_dir=tmp_dir,
        )

    def object_key(self, key: str) -> str:
        """The bucket's key of a storage key; refuses keys that are not plain relative paths."""
        parts = key.strip("/").split("/")
        if not key or any(p in {"", ".", ".."} for p in parts) or not key.isprintable():
            raise ValueError(f"invalid storage key: {key!r}")
        return "/".join([self.prefix, *parts]) if self.prefix else "/".join(parts)

    def _storage_key(self, object_key: str) -> str:
        return object_key[len(self.prefix) + 1 :] if self.prefix else object_key

    def _folder(self, prefix: str) -> str:
        """The bucket prefix of everything under a storage prefix ("" for the whole store)."""
        if not prefix.strip("/"):
            return f"{self.prefix}/" if self.prefix else ""
        return self.object_key(prefix.strip("/")) + "/"

    @staticmethod
    def _put_args(key: str) -> dict[str, Any]:
        return {"ContentType": media_type(key), "CacheControl": cache_control(key)}

    def save(self, key: str, data: BinaryIO) -> int:
        sent = [0]

        def count(n: int) -> None:
            sent[0] += n

        with _answers(key):
            self.client.upload_fileobj(
                data,
                self.bucket,
                self.object_key(key),
                ExtraArgs=self._put_args(key),
                Callback=count,
            )
        return sent[0]

    def save_file(self, key: str, source: Path) -> None:
        with _answers(key):
            if source.stat().st_size >= MULTIPART_BYTES:
                self.client.upload_file(
                    str(source), self.bucket, self.object_key(key), ExtraArgs=self._put_args(key)
                )
                return
            with source.open("rb") as body:
                self.client.put_object(
                    Bucket=self.bucket, Key=self.object_key(key), Body=body, **self._put_args(key)
                )

    def save_tree(self, prefix: str, directory: Path) -> list[str]:
        files = playlists_last([p for p in directory.rglob("*") if p.is_file()])
        keys = [f"{prefix.rstrip('/')}/{f.relative_to(directory).as_posix()}" for f in files]
        pairs = list(zip(keys, files, strict=True))
        media = [(k, f) for k, f in pairs if f.suffix != ".m3u8"]
        with ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="s3-upload") as pool:
            list(pool.map(lambda pair: self.save_file(*pair), media))  # raises the first error
        for key, file in pairs[len(media) :]:  # the playlists, once what they name is there
            self.save_file(key, file)
        return keys

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def read_bytes(self, key: str) -> bytes:
        if key.endswith(".m3u8") and (known := self._playlists.get(key)) is not None:
            return known
        with _answers(key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            with answer["Body"] as body:
                data = body.read()
        if key.endswith(".m3u8"):
            self._playlists.put(key, data)
        return data

    def size(self, key: str) -> int:
        with _answers(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        return head["ContentLength"]

    def open_object(
        self,
        key: str,
        *,
        byte_range: tuple[int | None, int | None] | None = None,
        if_none_match: str | None = None,
    ) -> StoredObject:
        from botocore.exceptions import ClientError

        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if byte_range is not None:
            first, last = byte_range
            args["Range"] = f"bytes={'' if first is None else first}-{'' if last is None else last}"
        if if_none_match:
            args["IfNoneMatch"] = if_none_match
        try:
            with _answers(key, passing=(304, 416)):
                answer = self.client.get_object(**args)
        except ClientError as exc:
            status = _status(exc)
            if status == 304:
                etag = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("etag")
                now = datetime.now(UTC)
                return StoredObject(
                    0, 0, -1, etag or if_none_match or "", now, iter(()), not_modified=True
                )
            raise RangeNotSatisfiable(self.size(key)) from exc  # 416
        return _stored_object(answer, key, partial=byte_range is not None)

    def delete_prefix(self, prefix: str) -> None:
        self._playlists.forget(prefix.strip("/"))
        keys = [self.object_key(prefix.strip("/"))]
        keys += [self.object_key(k.key) for k in self.list_keys(prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            with _answers(prefix):
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )

    def list_keys(self, prefix: str = "") -> Iterator[StoredKey]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._folder(prefix)
        )
        with _answers(prefix):
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredKey(
                        key=self._storage_key(item["Key"]),
                        size=item["Size"],
                        modified_at=item["LastModified"],
                    )

    def list_children(self, prefix: str) -> list[str]:
        folder = self._folder(prefix)
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=folder, Delimiter="/"
        )
        names: set[str] = set()
        with _answers(prefix):
            for page in pages:
                names.update(
                    p["Prefix"][len(folder) :].rstrip("/") for p in page.get("CommonPrefixes", [])
                )
                names.update(item["Key"][len(folder) :] for item in page.get("Contents", []))
        return sorted(names)

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="microdrama-s3-", dir=self.tmp_dir) as tmp:
            path = Path(tmp) / Path(key).name
            with _answers(key):
                answer = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
                with answer["Body"] as body, path.open("wb") as out:
                    shutil.copyfileobj(body, out, READ_CHUNK_BYTES * 4)
            yield path

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{key}"

    def local_folder(self) -> Path | None:
        return None


def _status(exc: Any) -> int:
    status: int = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status


@contextmanager
def _answers(key: str, *, passing: tuple[int, ...] = ()) -> Iterator[None]:
    """The store's failures in our terms: a missing object is FileNotFoundError, anything else
    (no connection, a timeout, refused credentials, a missing bucket, a 5xx) StorageUnavailable.
    Statuses in `passing` reach the caller as boto's own ClientError."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        status, code = _status(exc), exc.response.get("Error", {}).get("Code", "")
        if status in passing:
            raise
        if code != "NoSuchBucket" and (status == 404 or code in {"NoSuchKey", "NotFound"}):
            raise FileNotFoundError(key) from exc
        raise StorageUnavailable(f"the object storage refused {key!r}: {exc}") from exc
    except (BotoCoreError, Boto3Error) as exc:
        raise StorageUnavailable(f"the object storage could not be reached: {exc}") from exc


def _stored_object(answer: GetObjectOutputTypeDef, key: str, *, partial: bool) -> StoredObject:
    length = answer["ContentLength"]
    content_range = answer.get("ContentRange")  # "bytes 0-99/1234"
    if content_range:
        span, _, total = content_range.removeprefix("bytes ").partition("/")
        first_text, _, last_text = span.partition("-")
        first, last, size = int(first_text), int(last_text), int(total)
    else:
        first, last, size = 0, length - 1, length
    return StoredObject(
        size=size,
        first=first,
        last=last,
        etag=answer.get("ETag", ""),
        modified_at=answer["LastModified"],
        chunks=_chunks(answer, key),
        partial=partial and bool(content_range),
    )


def _chunks(answer: GetObjectOutputTypeDef, key: str) -> Iterator[bytes]:
    body = answer["Body"]
    try:
        with _answers(key):
            yield from body.iter_chunks(READ_CHUNK_BYTES)
    finally:
        body.close()


class _Recent:
    """The last `size` values put, by key (a small thread-safe LRU)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def forget(self, prefix: str) -> None:
        """Drop the key `prefix` and every key under prefix/."""
        with self._lock:
            for key in [k for k in self._values if k == prefix or k.startswith(prefix + "/")]:
                del self._values[key]
