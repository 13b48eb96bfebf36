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
/// On fsdax, `waited` is the safe answer (dax_layout_busy_page); `completed` is UNSAFE. All the
/// run's truncate-held cells are held at once (see `truncateCells`).
extension ProbeEngine {
  /// Bytes held: the first 16 pages, what one pipe holds without blocking.
  static let truncateHeldBytes = 64 << 10
  static let truncateHoldMs = 1_000
  static let truncateWaitMs = 10_000

  /// The kinds the probe runs on: a file mapped shared, on fsdax or in the page cache (the control).
  static func truncateProbes(_ kind: MemoryKind) -> Bool {
    kind == .fsdaxExt4Shared || kind == .fsdaxXfsShared || kind == .pagecacheShared
  }

  /// The `truncate-held` cells of one run, in the matrix's order. Every cell that can run is
  /// prepared first and all are measured under one hold (the files are independent: a truncate
  /// that waits for its pages waits alone), so the run pays `truncateHoldMs` once, not per cell.
  /// The cells measured together share the measurement's time evenly in `durationUs`. A signal
  /// seen before the measurement stops the run with `completed` and the cells finished so far.
  func truncateCells(_ ids: [ProbeID], preparer: inout MemoryPreparer, completed: [ProbeResult]) throws(Interrupted) -> [ProbeResult] {
    let cleanups = ids.map { _ in Cleanup() }
    defer { for c in cleanups.reversed() { c.run() } }
    var results: [ProbeResult] = []
    var measured: [(index: Int, target: HeldTruncateTarget)] = []
    func interrupted() -> Interrupted {
      Interrupted(completed: completed + results.indices.filter { i in !measured.contains { $0.index == i } }.map { results[$0] })
    }
    for (i, id) in ids.enumerated() {
      if kernel.pendingSignal() != nil { throw interrupted() }
      let start = clock()
      var r = ProbeResult(
        interface: id.interface, memory: MemoryDescription(kind: id.kind, size: targets.bufferSize), access: id.access,
        outcome: .unsupported, expectation: Expectations.expectation(for: id, on: features), verdict: .skip)
      if let target = truncateTarget(&r, preparer: &preparer, cellCleanup: cleanups[i]) {
        r.request = "vmsplice(\(target.heldBytes >> 10) KiB of the mapping) into a pipe; ftruncate(fd, 0) on a second thread; pipe drained after \(Self.truncateHoldMs) ms"
        measured.append((i, target))
      }
      r.durationUs = Int(clock() &- start)
      results.append(r)
    }
    guard !measured.isEmpty else { return results }
    if kernel.pendingSignal() != nil { throw interrupted() }
    let start = clock()
    let answers = kernel.truncateUnderHeldPages(measured.map(\.target), holdMs: Self.truncateHoldMs, waitMs: Self.truncateWaitMs)
    let share = Int(clock() &- start) / measured.count
    for ((i, _), answer) in zip(measured, answers) {
      judgeTruncate(&results[i], answer)
      results[i].durationUs = (results[i].durationUs ?? 0) + share
    }
    return results
  }

  /// Prepares a cell's file and mapping; nil (and the cell finished) where the cell cannot run.
  private func truncateTarget(_ r: inout ProbeResult, preparer: inout MemoryPreparer, cellCleanup: Cleanup) -> HeldTruncateTarget? {
    let id = r.probeID
    guard Self.truncateProbes(id.kind) else {
      finish(&r, outcome: .unsupported, errno: nil, reason: "the truncate-held probe runs on files mapped shared: fsdax-ext4-shared, fsdax-xfs-shared and pagecache-shared (the control)")
      return nil
    }
    let memory: PreparedMemory
    switch preparer.prepare(id.kind, access: id.access, cellCleanup: cellCleanup) {
    case .failure(let u):
      finish(&r, outcome: u.outcome, errno: u.errno, reason: u.reason, hint: u.hint)
      return nil
    case .success(let m): memory = m
    }
    r.memory = memory.description
    guard let file = memory.file else {
      finish(&r, outcome: .setupFailed, errno: nil, reason: "\(id.kind.rawValue) memory has no file to truncate")
      return nil
    }
    return HeldTruncateTarget(file: file, mapping: memory.mapping, heldBytes: min(Self.truncateHeldBytes, memory.mapping.length))
  }

  /// The verdict on one cell from what the measurement saw.
  private func judgeTruncate(_ r: inout ProbeResult, _ answer: Result<HeldTruncate, Errno>) {
    switch answer {
    case .failure(let e):
      finish(&r, outcome: .setupFailed, errno: e, reason: "holding the pages or starting the truncate failed: \(e.name)")
    case .success(let t):
      if t.heldBytes <= 0 {
        finish(&r, outcome: .setupFailed, errno: nil, reason: "vmsplice put no page of the mapping in the pipe: nothing was held")
        return
      }
      if let e = t.truncateErrno {
        finish(&r, outcome: .setupFailed, errno: e, reason: "ftruncate failed: \(e.name)")
        return
      }
      if t.returnedWhileHeld {
        finish(&r, outcome: .completed, errno: nil, reason: nil)
        if r.verdict == .pass { r.reason = "the truncate returned within \(Self.truncateHoldMs) ms while \(t.heldBytes >> 10) KiB were held by the pipe" }
        return
      }
      guard t.returnedAfterRelease else {
        finish(
          &r, outcome: .setupFailed, errno: nil,
          reason: "the truncate had not returned \(Self.truncateWaitMs / 1000) s after the pipe was drained: it is blocked in the kernel for another reason (its thread is left to finish)")
        return
      }
      finish(&r, outcome: .waited, errno: nil, reason: nil)
      let after = t.releaseToReturnMs.map { " and returned \($0) ms after the pipe was drained" } ?? ""
      if r.verdict == .pass {
        r.reason = "the truncate had not returned after \(Self.truncateHoldMs) ms while \(t.heldBytes >> 10) KiB were held\(after)"
      }
    }
  }
}
