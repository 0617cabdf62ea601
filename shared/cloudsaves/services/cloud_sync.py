"""The RetroArch Cloud Sync door's use cases (API.md §12): one function per WebDAV method.

A door path is either mapped (`cloud_sync_paths.mapped_path` and a ROM with that stem: the file IS the
ROM's `autosave` save or that state, one history with every other client's versions) or a plain file
of the user (anything else, `config/...` included, kept byte for byte). A path first stored as a plain
file stays one, so adding a ROM later never changes what an existing file is.

`manifest.server` is built from the records on every GET; a PUT of it is checked and compared, never
stored. Deletes are tombstones: a mapped file's versions stay in the ordinary history, a plain file's
bytes stay in the bucket. A save slot's tombstone is the sync protocol's (`models.sync.Tombstone`):
the door writes it when RetroArch deletes a save, and reads it, so a delete through any door (the
door, `POST /api/saves/delete`, a negotiate's `deleted`) reaches every client.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudsaves import storage
from cloudsaves.aws import table
from cloudsaves.clock import now_iso
from cloudsaves.errors import (
    AppError,
    BadRequest,
    ConcurrentUpdate,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
)
from cloudsaves.filenames import InvalidFileName, fold, fs_name_stem, sanitize_file_name
from cloudsaves.hashing import content_hash, md5_hex
from cloudsaves.http import Principal
from cloudsaves.models.assets import AnyRecord, SaveRecord, UploadParams
from cloudsaves.models.sync import Tombstone
from cloudsaves.observability import logger
from cloudsaves.repositories import keys
from cloudsaves.repositories.cloud_sync import AssetEntry, FileEntry
from cloudsaves.repositories.object_ledger import LedgerNote, Reference, retired_note
from cloudsaves.repositories.sync import SyncRepository
from cloudsaves.services import asset_records, asset_uploads, orphans
from cloudsaves.services import cloud_sync_paths as paths
from cloudsaves.services.cloud_sync_index import cloud_sync_repository
from cloudsaves.services.roms import roms_repository
from cloudsaves.settings import get_settings

_WRITE_ATTEMPTS = 5
DIRECT_UPLOAD_HINT = (
    "use the direct-upload flow (POST /api/{kind}s/uploads, PUT to the URL, POST .../complete) instead"
)


@dataclass(frozen=True)
class _Mapped:
    path: str
    target: paths.MappedPath
    rom_id: int
    entry: AssetEntry | None

    @property
    def name(self) -> str:
        return paths.SAVE_SLOT if self.target.kind == "save" else self.target.file_name


@dataclass(frozen=True)
class _Plain:
    path: str
    entry: FileEntry | None


# --- the methods ----------------------------------------------------------------------------------


def read_file(principal: Principal, path: str) -> bytes:
    """GET: the file's bytes (the newest version of a mapped one); NotFound when absent or deleted."""
    if _is_manifest(path):
        return manifest(principal)
    if not path:
        raise NotFound("File not found")
    target = _resolve(principal, path)
    if isinstance(target, _Plain):
        if target.entry is None or not target.entry.md5:
            raise NotFound("File not found")
        _check_size(target.entry.size, "file")
        return storage.get_object(target.entry.object_key)
    record = _live_version(principal, target)
    if record is None:
        raise NotFound("File not found")
    _check_size(record.file_size_bytes, target.target.kind)
    data = asset_records.object_or_none(record.object_key)
    if data is None:
        raise NotFound("File not found")
    return data


def write_file(principal: Principal, path: str, data: bytes) -> bool:
    """PUT: a new version of a mapped file, or the plain file's new bytes; True when the path was new."""
    if _is_manifest(path):
        reconcile_manifest(principal, data)
        return False
    _require_file_path(path)
    target = _resolve(principal, path)
    _check_size(len(data), target.target.kind if isinstance(target, _Mapped) else "file")
    if isinstance(target, _Mapped) and _binds_elsewhere(target):
        # Another core's save of the same game: kept as a plain file, the slot keeps one path.
        target = _Plain(path, None)
    if isinstance(target, _Plain):
        return _write_plain(principal, path, data)
    existed = _live_version(principal, target) is not None
    _write_mapped(principal, target, data)
    return not existed


def delete_file(principal: Principal, path: str) -> None:
    """DELETE: a tombstone; a mapped file's versions stay in its history, a plain file's bytes stay."""
    if _is_manifest(path):
        raise Forbidden("manifest.server is built from the records and cannot be deleted")
    _require_file_path(path)
    target = _resolve(principal, path)
    now = now_iso()
    if isinstance(target, _Plain):
        if target.entry is None or not target.entry.md5:
            raise NotFound("File not found")
        tombstone = FileEntry(target.entry.path, "", target.entry.size, target.entry.object_key, now, now)
        try:  # only over what was read: a write meanwhile must not point the entry back at retired bytes
            cloud_sync_repository().replace_file(principal.user_id, fold(path), tombstone, target.entry)
        except ConcurrentUpdate as exc:
            raise Conflict("The file changed while being deleted; try again") from exc
        return
    record = _live_version(principal, target)
    if record is None or target.entry is None:
        raise NotFound("File not found")
    # Never before the version it deletes (versions may carry a timestamp a microsecond ahead of now).
    deleted_at = max(now, record.updated_at)
    cloud_sync_repository().tombstone_asset(principal.user_id, target.entry, path, deleted_at)
    if isinstance(record, SaveRecord):
        _tombstones().put_tombstones(
            principal.user_id,
            [
                Tombstone(
                    rom_id=record.rom_id,
                    slot=paths.SAVE_SLOT,
                    save_id=record.id,
                    file_name=record.file_name,
                    content_hash=record.content_hash,
                    deleted_at=deleted_at,
                )
            ],
        )


def move_file(principal: Principal, source: str, destination: str) -> bool:
    """MOVE (RetroArch's delete: to `deleted/<path>-<stamp>`): the bytes at the destination, then a
    tombstone at the source. True when the destination was new."""
    if _is_manifest(source) or _is_manifest(destination):
        raise Forbidden("manifest.server cannot be moved")
    if fold(source) == fold(destination):
        raise Forbidden("Source and destination are the same")
    data = read_file(principal, source)
    created = write_file(principal, destination, data)
    delete_file(principal, source)
    return created


def make_collection(principal: Principal, path: str) -> None:
    """MKCOL: collections are implied by file paths, so every valid one already "exists" (201)."""
    if _is_manifest(path):
        raise BadRequest("manifest.server is a file")


# --- manifest.server ------------------------------------------------------------------------------


def manifest(principal: Principal) -> bytes:
    """`manifest.server` from the records: the user's door entries (one bounded Query) and, for each
    mapped entry, its newest version (one BatchGetItem per 100, read again only if one was deleted)."""
    return paths.render_manifest(_manifest_rows(principal).values())


def reconcile_manifest(principal: Principal, body: bytes) -> None:
    """A device's PUT of `manifest.server`: validated (400 when malformed), compared with the records,
    and dropped: the records are the truth, so a stale or lost copy can never delete or revive a file."""
    claimed = paths.parse_manifest(body)
    actual = {key: digest for key, (_, digest) in _manifest_rows(principal).items()}
    differing = sorted(key for key, digest in claimed.items() if actual.get(key) != digest)
    if differing:
        logger.info(
            "A device's manifest.server differs from the records; the records win",
            extra={"paths": differing[:20], "count": len(differing)},
        )


def _manifest_rows(principal: Principal) -> dict[str, tuple[str, str]]:
    """{folded path: (path, md5 or "")} of everything the user syncs through the door."""
    repo = cloud_sync_repository()
    assets, files = repo.entries(principal.user_id)
    rows: dict[str, tuple[str, str]] = {}
    versions = _newest_versions(principal, assets)
    slot_deletions = _slot_deletions(principal.user_id)
    stems: dict[int, str | None] = {}
    for entry in assets:
        record = versions.get((entry.kind, entry.rom_id, fold(entry.name)))
        path = entry.path or _derived_path(entry, stems)
        deleted_at = _deleted_at(entry, slot_deletions)
        if path is None or (record is None and deleted_at is None):
            continue
        if record is None or (deleted_at is not None and record.updated_at <= deleted_at):
            rows[fold(path)] = (path, "")
        else:
            rows[fold(path)] = (path, _md5_of(principal, entry, record))
    for file in files:
        rows[fold(file.path)] = (file.path, file.md5)
    return rows


# --- internals ------------------------------------------------------------------------------------


def _is_manifest(path: str) -> bool:
    return fold(path) == paths.MANIFEST


def _require_file_path(path: str) -> None:
    if not path:
        raise BadRequest("/api/cloud-sync/ is the door itself, not a file")


def _resolve(principal: Principal, path: str) -> _Mapped | _Plain:
    repo = cloud_sync_repository()
    existing = repo.get_file(principal.user_id, fold(path))
    if existing is not None:
        return _Plain(path, existing)
    target = paths.mapped_path(path)
    if target is not None and _storable(target.file_name):
        rom_id = roms_repository().find_by_stem(fold(target.stem))
        if rom_id is not None:
            name = paths.SAVE_SLOT if target.kind == "save" else target.file_name
            return _Mapped(path, target, rom_id, repo.get_asset(principal.user_id, target.kind, rom_id, name))
    return _Plain(path, None)


def _storable(file_name: str) -> bool:
    """Stored under its own name (a name the upload path would rename stays a plain file instead)."""
    try:
        return sanitize_file_name(file_name) == file_name
    except InvalidFileName:
        return False


def _binds_elsewhere(target: _Mapped) -> bool:
    bound = target.entry.path if target.entry else None
    return bound is not None and fold(bound) != fold(target.path)


def _check_size(size: int, kind: str) -> None:
    limit = get_settings().cloud_sync_max_file_bytes
    if size > limit:
        hint = DIRECT_UPLOAD_HINT.format(kind=kind if kind in ("save", "state") else "state")
        logger.warning(f"Cloud Sync refused a {size}-byte file (limit {limit}); {hint}")
        raise PayloadTooLarge(f"Files larger than {limit} bytes cannot pass through Cloud Sync; {hint}")


def _write_plain(principal: Principal, path: str, data: bytes) -> bool:
    stored = orphans.put_new("file", principal.user_id, _object_name(path), data)
    repo = cloud_sync_repository()
    try:
        for _ in range(_WRITE_ATTEMPTS):
            seen = repo.get_file(principal.user_id, fold(path))
            entry = FileEntry(path, md5_hex(data), len(data), stored.object_key, now_iso())
            retired = [_retired_note(principal, path, seen)] if seen is not None else []
            try:
                repo.replace_file(
                    principal.user_id, fold(path), entry, seen, orphans.commit_actions([stored], retired)
                )
            except ConcurrentUpdate:
                continue  # another device wrote the path meanwhile: read again
            orphans.release(retired)  # the versioned bucket keeps the old bytes for the retention period
            return seen is None or not seen.md5
        raise Conflict("The file kept changing while being written; try again")
    except AppError:
        orphans.discard([stored])
        raise


def _retired_note(principal: Principal, path: str, seen: FileEntry) -> LedgerNote:
    reference = Reference(
        keys.cloud_sync_pk(principal.user_id), keys.cloud_sync_file_sk(fold(path)), "object_key"
    )
    return retired_note(seen.object_key, reference, now_iso())


def _write_mapped(principal: Principal, target: _Mapped, data: bytes) -> None:
    kind, file_name = target.target.kind, target.target.file_name
    stored = orphans.put_new(kind, principal.user_id, file_name, data, content_hash(data))
    # overwrite: every RetroArch upload is a new version, never answered with an older duplicate (which
    # would leave the slot's head on other bytes than the device now holds).
    params = UploadParams(
        rom_id=target.rom_id,
        emulator=target.target.core,
        slot=paths.SAVE_SLOT if kind == "save" else None,
        overwrite=True,
    )
    asset_uploads.commit_upload(kind, principal, params, stored)
    cloud_sync_repository().bind(
        principal.user_id, kind, target.rom_id, target.name, target.path, md5_hex(data), stored.content_hash
    )


def _object_name(path: str) -> str:
    try:
        return sanitize_file_name(path.rsplit("/", 1)[-1])
    except InvalidFileName:
        return "file"


def _live_version(principal: Principal, target: _Mapped) -> AnyRecord | None:
    """The mapped file's newest version, or None when there is none or the door deleted it."""
    if target.entry is None:
        return None
    record = _newest_versions(principal, [target.entry]).get(
        (target.entry.kind, target.entry.rom_id, fold(target.entry.name))
    )
    if record is None:
        return None
    deleted_at = _deleted_at(target.entry, _slot_deletions(principal.user_id))
    return None if deleted_at is not None and record.updated_at <= deleted_at else record


def _tombstones() -> SyncRepository:
    return SyncRepository(table())  # the sync protocol's repository, without its service's imports


def _slot_deletions(user_id: int) -> dict[int, str]:
    """{rom_id: deleted_at} of the user's tombstoned `autosave` slots (one Query of the tombstones)."""
    return {t.rom_id: t.deleted_at for t in _tombstones().tombstones(user_id) if t.slot == paths.SAVE_SLOT}


def _deleted_at(entry: AssetEntry, slot_deletions: dict[int, str]) -> str | None:
    """When the entry was last deleted, by the door or (a save slot) by any other client; versions up
    to then read as deleted, a newer one brings the file back."""
    times = [entry.deleted_at, slot_deletions.get(entry.rom_id) if entry.kind == "save" else None]
    return max((t for t in times if t is not None), default=None)


def _newest_versions(
    principal: Principal, entries: list[AssetEntry]
) -> dict[tuple[str, int, str], AnyRecord]:
    """Each entry's newest version: the one the entry names (BatchGetItem), or, when a client deleted
    it since, the newest left in its slot or under its name (read only for those)."""
    found: dict[tuple[str, int, str], AnyRecord] = {}
    for kind in ("save", "state"):
        of_kind = [e for e in entries if e.kind == kind]
        if not of_kind:
            continue
        repo = asset_records.assets_repository(kind)
        records = repo.get_many([e.asset_id for e in of_kind if e.asset_id is not None], consistent=True)
        for entry in of_kind:
            record = records.get(entry.asset_id) if entry.asset_id is not None else None
            if record is None or record.user_id != principal.user_id:
                record = _newest_left(principal, entry)
            if record is not None:
                found[(kind, entry.rom_id, fold(entry.name))] = record
    return found


def _newest_left(principal: Principal, entry: AssetEntry) -> AnyRecord | None:
    repo = asset_records.assets_repository(entry.kind)
    if entry.kind == "save":
        for member in repo.slots.members(principal.user_id, entry.rom_id, entry.name, limit=8):
            record = repo.get(member.save_id, consistent=True)
            if isinstance(record, SaveRecord):
                return record
        return None
    claimed = repo.name_claim(principal.user_id, entry.rom_id, entry.name)
    return repo.get(claimed, consistent=True) if claimed is not None else None


def _md5_of(principal: Principal, entry: AssetEntry, record: AnyRecord) -> str:
    """RetroArch's hash of a version: remembered when the door wrote it, else read once and remembered.

    A version too large for the door is never read: RetroArch cannot download it anyway, and its
    content_hash is its MD5 unless it is a zip."""
    if entry.md5 and entry.md5_hash == record.content_hash:
        return entry.md5
    if record.file_size_bytes > get_settings().cloud_sync_max_file_bytes:
        return record.content_hash or ""
    data = asset_records.object_or_none(record.object_key)
    if data is None:
        return record.content_hash or ""
    digest = md5_hex(data)
    cloud_sync_repository().remember_md5(
        principal.user_id, entry.kind, entry.rom_id, entry.name, digest, record.content_hash or ""
    )
    return digest


def _derived_path(entry: AssetEntry, stems: dict[int, str | None]) -> str | None:
    """Where RetroArch keeps a version no RetroArch uploaded: by the ROM's stem and the emulator."""
    if entry.rom_id not in stems:
        rom = roms_repository().get(entry.rom_id)
        stems[entry.rom_id] = fs_name_stem(rom.fs_name) if rom else None
    stem = stems[entry.rom_id]
    if stem is None:
        return None
    if entry.kind == "save":
        return paths.save_path(entry.emulator, stem)
    if not fold(entry.name).startswith(fold(stem) + ".state"):
        return None  # a state named otherwise is not one RetroArch would load
    return paths.state_path(entry.emulator, entry.name)
