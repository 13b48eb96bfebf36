import SystemPackage

/// The truncate-under-a-held-page probe (`truncate-held`): does a truncate of a file wait while
/// a page of it is still referenced for I/O?
///
/// Method: the file's shared mapping is written, its first `heldBytes` are put into a pipe with
/// `vmsplice(2)` (the pipe then holds a reference on each page, as an unprivileged program can
/// make it, and nobody reads it), and a second thread calls `ftruncate(fd, 0)`. The probe waits
/// up to `holdMs` for the truncate to return (a truncate that returns ends the hold at once:
/// `completed`), then drains the pipe (dropping the references) and gives the truncate `waitMs`
/// to return. The answer does not rest on a timing
/// threshold: a truncate that waits for the reference cannot return before the drain, however
/// slow the machine; only a truncate that does not wait could be late, and `holdMs` is many
/// times what a truncate of a 2 MiB file takes, so the page-cache control reads `completed`.
/// On fsdax, `waited` is the safe answer (dax_layout_busy_page); `completed` is UNSAFE.
extension ProbeEngine {
  /// Bytes held: the first 16 pages, what one pipe holds without blocking.
  static let truncateHeldBytes = 64 << 10
  static let truncateHoldMs = 1_000
  static let truncateWaitMs = 10_000

  /// The kinds the probe runs on: a file mapped shared, on fsdax or in the page cache (the control).
  static func truncateProbes(_ kind: MemoryKind) -> Bool {
    kind == .fsdaxExt4Shared || kind == .fsdaxXfsShared || kind == .pagecacheShared
  }

  func truncateCell(_ r: inout ProbeResult, preparer: inout MemoryPreparer) -> ProbeResult {
    let id = r.probeID
    guard Self.truncateProbes(id.kind) else {
      return finish(&r, outcome: .unsupported, errno: nil, reason: "the truncate-held probe runs on files mapped shared: fsdax-ext4-shared, fsdax-xfs-shared and pagecache-shared (the control)")
    }
    let cellCleanup = Cleanup()
    defer { cellCleanup.run() }
    let memory: PreparedMemory
    switch preparer.prepare(id.kind, access: id.access, cellCleanup: cellCleanup) {
    case .failure(let u): return finish(&r, outcome: u.outcome, errno: u.errno, reason: u.reason, hint: u.hint)
    case .success(let m): memory = m
    }
    r.memory = memory.description
    guard let file = memory.file else {
      return finish(&r, outcome: .setupFailed, errno: nil, reason: "\(id.kind.rawValue) memory has no file to truncate")
    }
    let held = min(Self.truncateHeldBytes, memory.mapping.length)
    r.request = "vmsplice(\(held >> 10) KiB of the mapping) into a pipe; ftruncate(fd, 0) on a second thread; pipe drained after \(Self.truncateHoldMs) ms"
    switch kernel.truncateUnderHeldPages(file, memory.mapping, heldBytes: held, holdMs: Self.truncateHoldMs, waitMs: Self.truncateWaitMs) {
    case .failure(let e):
      return finish(&r, outcome: .setupFailed, errno: e, reason: "holding the pages or starting the truncate failed: \(e.name)")
    case .success(let t):
      if t.heldBytes <= 0 {
        return finish(&r, outcome: .setupFailed, errno: nil, reason: "vmsplice put no page of the mapping in the pipe: nothing was held")
      }
      if let e = t.truncateErrno {
        return finish(&r, outcome: .setupFailed, errno: e, reason: "ftruncate failed: \(e.name)")
      }
      if t.returnedWhileHeld {
        finish(&r, outcome: .completed, errno: nil, reason: nil)
        if r.verdict == .pass { r.reason = "the truncate returned within \(Self.truncateHoldMs) ms while \(t.heldBytes >> 10) KiB were held by the pipe" }
        return r
      }
      guard t.returnedAfterRelease else {
        return finish(
          &r, outcome: .setupFailed, errno: nil,
          reason: "the truncate had not returned \(Self.truncateWaitMs / 1000) s after the pipe was drained: it is blocked in the kernel for another reason (its thread is left to finish)")
      }
      finish(&r, outcome: .waited, errno: nil, reason: nil)
      let after = t.releaseToReturnMs.map { " and returned \($0) ms after the pipe was drained" } ?? ""
      if r.verdict == .pass {
        r.reason = "the truncate had not returned after \(Self.truncateHoldMs) ms while \(t.heldBytes >> 10) KiB were held\(after)"
      }
      return r
    }
  }
}
