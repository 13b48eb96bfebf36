import SystemPackage

/// The truncate-under-a-held-page probe (`truncate-held`): does a truncate of a file wait while
/// a page of it is still referenced for I/O?
///
/// Method: the file's shared mapping is written, its first `heldBytes` are put into a pipe with
/// `vmsplice(2)` (the pipe then holds a reference on each page, as an unprivileged program can
/// make it, and nobody reads it), and a second thread calls `ftruncate(fd, 0)`. The probe keeps
/// the pipe full for at least `holdMs` (while it runs its other cells, which touch none of these
/// files; sooner only when every truncate of the run has returned: `completed`), notes whether
/// the truncate returned, then drains the pipe (dropping the references) and gives the truncate
/// `waitMs` to return. The answer does not rest on a timing
/// threshold: a truncate that waits for the reference cannot return before the drain, however
/// slow the machine; only a truncate that does not wait could be late, and `holdMs` is many
/// times what a truncate of a 2 MiB file takes, so the page-cache control reads `completed`.
/// On fsdax, `waited` is the safe answer (dax_layout_busy_page); `completed` is UNSAFE. All the
/// run's truncate-held cells are held at once, while the run's other cells go on (see
/// `beginTruncateCells`).
extension ProbeEngine {
  /// Bytes held: the first 16 pages, what one pipe holds without blocking.
  static let truncateHeldBytes = 64 << 10
  static let truncateHoldMs = 1_000
  static let truncateWaitMs = 10_000

  /// The kinds the probe runs on: a file mapped shared, on fsdax or in the page cache (the control).
  static func truncateProbes(_ kind: MemoryKind) -> Bool {
    kind == .fsdaxExt4Shared || kind == .fsdaxXfsShared || kind == .pagecacheShared
  }

  /// Descriptors one held cell keeps open while the other cells run: its file, the pipe's two
  /// ends and the truncate thread's duplicate.
  static let truncateHeldDescriptorsPerCell = 4
  /// Descriptors left for the other cells meanwhile: a VFIO container, group and device, an
  /// iommufd, an io_uring, RDMA's device files, a cell's file and /proc or sysfs readers need
  /// far fewer at once.
  static let otherCellsDescriptorMargin = 64

  /// Whether to hold the `truncate-held` cells from the start (`beginTruncateCells`): only when
  /// RLIMIT_NOFILE leaves room for their descriptors and the other cells' (unknown: yes).
  func holdsEarly(_ ids: [ProbeID]) -> Bool {
    guard let headroom = kernel.descriptorHeadroom() else { return true }
    return headroom >= ids.count * Self.truncateHeldDescriptorsPerCell + Self.otherCellsDescriptorMargin
  }

  /// A run's `truncate-held` cells, prepared and held from the start of the run
  /// (`beginTruncateCells`) and judged at their place in the matrix (`finishTruncateCells`).
  struct TruncateHeldCells {
    /// Every cell, in the matrix's order: finished where it could not run, else awaiting its answer.
    var results: [ProbeResult]
    /// The cells measured, by index in `results`.
    var measured: [Int]
    /// The pages held while the truncates run; nil when no cell could run.
    var hold: HeldTruncateHold?
    /// Microseconds spent beginning the hold (the seam call, not the other cells run meanwhile).
    var holdUs: UInt64
  }

  /// Prepares every `truncate-held` cell that can run and begins one hold for all of them (the
  /// files are independent: a truncate that waits for its pages waits alone). The engine then runs
  /// the matrix's other cells while the truncates are held, so the run pays `truncateHoldMs` at
  /// most once and mostly not at all: by the time the cells' turn comes, the hold has lasted
  /// longer than `truncateHoldMs`. Their files, mappings and the hold are released by `cleanup`
  /// (the hold first), which the run's cleanup runs on every path.
  /// A signal while the cells are prepared stops the run (`Interrupted`, with `completed`) before
  /// anything is held.
  func beginTruncateCells(_ ids: [ProbeID], preparer: inout MemoryPreparer, cleanup: Cleanup, completed: [ProbeResult]) throws(Interrupted) -> TruncateHeldCells {
    var cells = TruncateHeldCells(results: [], measured: [], hold: nil, holdUs: 0)
    var targets: [HeldTruncateTarget] = []
    for id in ids {
      if kernel.pendingSignal() != nil { throw Interrupted(completed: completed) }
      let start = clock()
      var r = ProbeResult(
        interface: id.interface, memory: MemoryDescription(kind: id.kind, size: self.targets.bufferSize), access: id.access,
        outcome: .unsupported, expectation: Expectations.expectation(for: id, on: features), verdict: .skip)
      let cellCleanup = Cleanup()
      cleanup.add("truncate-held cell") { cellCleanup.run() }
      if let target = truncateTarget(&r, preparer: &preparer, cellCleanup: cellCleanup) {
        r.request = "vmsplice(\(target.heldBytes >> 10) KiB of the mapping) into a pipe; ftruncate(fd, 0) on a second thread; pipe drained after at least \(Self.truncateHoldMs) ms"
        cells.measured.append(cells.results.count)
        targets.append(target)
      }
      r.durationUs = Int(clock() &- start)
      cells.results.append(r)
    }
    guard !targets.isEmpty else { return cells }
    if kernel.pendingSignal() != nil { throw Interrupted(completed: completed) }
    let start = clock()
    let hold = kernel.holdPagesAndTruncate(targets, holdMs: Self.truncateHoldMs)
    cells.holdUs = clock() &- start
    // A run that stops before the cells' turn ends the hold at once; after `finishTruncateCells`
    // has released it, this does nothing.
    cleanup.add("abandon the truncate-held pages") { hold.abandon() }
    cells.hold = hold
    return cells
  }

  /// Ends the hold `beginTruncateCells` began and judges its cells, in the matrix's order. The
  /// cells measured together share evenly, in `durationUs`, the time of beginning the hold and of
  /// releasing it (what is left of the hold, the drain and the wait for the truncates), not the
  /// other cells' time in between.
  func finishTruncateCells(_ cells: TruncateHeldCells) -> [ProbeResult] {
    var results = cells.results
    guard let hold = cells.hold else { return results }
    let start = clock()
    let answers = hold.release(waitMs: Self.truncateWaitMs)
    let share = Int(cells.holdUs &+ (clock() &- start)) / cells.measured.count
    for (i, answer) in zip(cells.measured, answers) {
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
        if r.verdict == .pass { r.reason = "the truncate returned while \(t.heldBytes >> 10) KiB were held by the pipe (held at least \(Self.truncateHoldMs) ms)" }
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
