import SystemPackage

/// Runs the probe matrix — interfaces × memory kinds × accesses — against a `Kernel`, and judges
/// each answer against the expectation rules. Written once; the real and the fake kernel both
/// plug in here.
public struct ProbeEngine {
  public let kernel: any Kernel
  public let targets: ProbeTargets
  public let features: KernelFeatures
  public var interfaces: [Interface]
  public var kinds: [MemoryKind]
  public var accesses: [Access]
  /// Called after each cell (progress, tests).
  public var onResult: ((ProbeResult) -> Void)?
  /// A clock in microseconds for durations; the fake passes a deterministic one.
  public var clock: () -> UInt64

  public init(
    kernel: any Kernel, targets: ProbeTargets, features: KernelFeatures,
    interfaces: [Interface] = Interface.allCases, kinds: [MemoryKind] = MemoryKind.allCases,
    accesses: [Access] = Access.allCases, clock: @escaping () -> UInt64 = { 0 }
  ) {
    self.kernel = kernel
    self.targets = targets
    self.features = features
    self.interfaces = interfaces
    self.kinds = kinds
    self.accesses = accesses
    self.clock = clock
  }

  /// Stopped by SIGINT / SIGTERM after releasing everything.
  public struct Interrupted: Error {
    public var completed: [ProbeResult]
  }

  /// Runs every cell. Everything opened, mapped, registered or created is released before it
  /// returns or throws.
  public func run() throws(Interrupted) -> [ProbeResult] {
    let runCleanup = Cleanup()
    defer { runCleanup.run() }
    var preparer = MemoryPreparer(kernel: kernel, targets: targets, cleanup: runCleanup)
    var results: [ProbeResult] = []

    // The truncate-held cells are held from the start, while the other cells run (their hold
    // then costs no time of its own), and judged at their place in the matrix — unless
    // RLIMIT_NOFILE leaves too few descriptors for the held ones and the other cells' (a cell's
    // verdict must not depend on truncate-held running beside it): then they run at their place.
    // Their files go before the run's scratch directories (this cleanup runs first).
    let truncateCleanup = Cleanup()
    defer { truncateCleanup.run() }
    let truncateIDs = kinds.flatMap { k in accesses.map { ProbeID(.truncateHeld, k, $0) } }
    var truncateHeld: TruncateHeldCells?
    if interfaces.contains(.truncateHeld), holdsEarly(truncateIDs) {
      truncateHeld = try beginTruncateCells(truncateIDs, preparer: &preparer, cleanup: truncateCleanup, completed: results)
    }

    for interface in interfaces {
      if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
      if interface == .truncateHeld {
        let cells: TruncateHeldCells
        if let early = truncateHeld {
          cells = early
        } else {
          cells = try beginTruncateCells(truncateIDs, preparer: &preparer, cleanup: truncateCleanup, completed: results)
        }
        truncateHeld = nil
        let judged = finishTruncateCells(cells)
        truncateCleanup.run()
        // A signal during the release ended it early: the cells were not measured.
        if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
        for result in judged {
          results.append(result)
          onResult?(result)
        }
        continue
      }
      let sessionCleanup = Cleanup()
      defer { sessionCleanup.run() }
      let session: Result<any PinSession, SessionUnavailable> = openSession(interface, cleanup: sessionCleanup)
      for kind in kinds {
        for access in accesses {
          if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
          let start = clock()
          var result = cell(ProbeID(interface, kind, access), session: session, preparer: &preparer)
          result.durationUs = Int(clock() &- start)
          results.append(result)
          onResult?(result)
        }
      }
    }
    // A signal during the last cell's release still stops the run as a signal.
    if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
    return results
  }

  private func openSession(_ interface: Interface, cleanup: Cleanup) -> Result<any PinSession, SessionUnavailable> {
    openPinSession(interface, kernel: kernel, targets: targets, cleanup: cleanup)
  }

  private func cell(_ id: ProbeID, session: Result<any PinSession, SessionUnavailable>, preparer: inout MemoryPreparer) -> ProbeResult {
    let expectation = Expectations.expectation(for: id, on: features)
    var r = ProbeResult(
      interface: id.interface, memory: MemoryDescription(kind: id.kind, size: targets.bufferSize), access: id.access,
      outcome: .unsupported, expectation: expectation, verdict: .skip)

    let s: any PinSession
    switch session {
    case .failure(let u):
      return finish(&r, outcome: u.outcome, errno: nil, reason: u.reason, hint: u.hint)
    case .success(let open): s = open
    }
    if let u = s.unavailable(for: id.access) {
      return finish(&r, outcome: u.outcome, errno: nil, reason: u.reason, hint: u.hint)
    }

    let cellCleanup = Cleanup()
    defer { cellCleanup.run() }
    let memory: PreparedMemory
    switch preparer.prepare(id.kind, access: id.access, cellCleanup: cellCleanup) {
    case .failure(let u):
      return finish(&r, outcome: u.outcome, errno: u.errno, reason: u.reason, hint: u.hint)
    case .success(let m): memory = m
    }
    r.memory = memory.description

    if id.interface == .iommufdFile && memory.file == nil {
      return finish(&r, outcome: .unsupported, errno: nil, reason: "IOMMU_IOAS_MAP_FILE maps a file; \(id.kind.rawValue) memory has none")
    }
    let before = FrameReading.read(kernel, memory.mapping)
    let attempt = s.pin(memory, access: id.access)
    r.request = attempt.request
    r.pinnedKB = attempt.pinnedKB
    guard let result = attempt.result else {
      return finish(&r, outcome: .setupFailed, errno: nil, reason: attempt.toolError)
    }
    switch result {
    case .success:
      if let why = s.notExercisedReason {
        return finish(&r, outcome: .notExercised, errno: nil, reason: why, hint: "attach a device with a real IOMMU domain, or run `daxpin lab`")
      }
      // An ODP region is on demand unless VmPin says pages were pinned after all.
      let onDemand = s.pinsOnDemand && (attempt.pinnedKB ?? 0) <= 0
      finish(&r, outcome: onDemand ? .onDemand : .pinned, errno: nil, reason: nil)
      // The frames after the pin (and its undo: a migration is not undone) against before.
      if case .success(let b) = before, case .success(let a) = FrameReading.read(kernel, memory.mapping) {
        r.frames = b.placement(after: a)
      }
      // Where a long-term pin left movable pages; an on-demand region pins nothing to judge.
      if id.kind == .devdaxKmem && !onDemand { judgePlacement(&r, node: targets.kmemNode) }
      if let err = attempt.toolError {
        r.verdict = max(r.verdict, .error)
        r.reason = [r.reason, err].compactMap { $0 }.joined(separator: "; ")
      }
      return r
    case .failure(let e):
      return finish(&r, outcome: classify(e), errno: e, reason: nil)
    }
  }

  /// `devdax-kmem`: a pin that left pages in ZONE_MOVABLE fails, whatever the pin's own answer.
  private func judgePlacement(_ r: inout ProbeResult, node: Int?) {
    guard r.verdict == .pass else { return }
    let rule = Expectations.movablePlacement
    guard let f = r.frames else {
      r.verdict = .error
      r.reason = "the page frames after the pin could not be read from /proc/self/pagemap"
      return
    }
    if f.movableAfter > 0 {
      r.verdict = .fail
      r.reason =
        "pinned in ZONE_MOVABLE: \(f.movableAfter) of \(f.pages) pages stayed in the movable zone of node \(node.map(String.init) ?? "?"); while pinned they cannot be migrated, so memory hot-unplug and `daxctl offline-memory` of that dax device fail (expected migrated [\(rule.origin)])"
      r.hint = "a kernel with \"mm/gup: migrate pinned pages out of movable zone\" (5.13+), or do not pin memory of a movable kmem node long-term"
    } else {
      r.reason = "\(f.placement == .migrated ? "migrated out of ZONE_MOVABLE before the pin" : "pinned in place, outside ZONE_MOVABLE"): \(f.summary) [\(rule.origin)]"
    }
  }

  /// What an errno from a pin request means for the outcome.
  private func classify(_ e: Errno) -> Outcome {
    switch e {
    case .noMemory: .resourceLimited  // RLIMIT_MEMLOCK accounting
    case .noSpace: .resourceLimited  // vfio_iommu_type1 dma_entry_limit
    case .noBufferSpace: .resourceLimited  // xdp_umem_account_pages: RLIMIT_MEMLOCK
    case .inappropriateIOCTLForDevice: .unsupported  // the ioctl does not exist on this kernel
    default: .refused
    }
  }

  @discardableResult
  func finish(_ r: inout ProbeResult, outcome: Outcome, errno: Errno?, reason: String?, hint: String? = nil) -> ProbeResult {
    r.outcome = outcome
    r.errno = errno?.rawValue
    r.reason = reason
    r.hint = hint
    let id = r.probeID
    if [.pinned, .refused, .onDemand, .waited, .completed].contains(outcome), let expectation = r.expectation {
      let j = Judge.verdict(id: id, outcome: outcome, errno: errno?.rawValue, expectation: expectation)
      r.verdict = j.verdict
      if let why = j.reason { r.reason = why }
      if j.verdict == .fail && r.hint == nil {
        r.hint = j.unsafe && id.interface == .truncateHeld
          ? "this kernel frees a DAX file's blocks while I/O still references them: do not run I/O into fsdax files that may be truncated; use device-DAX (ndctl create-namespace -m devdax)"
          : j.unsafe
          ? "do not use fsdax for DMA on this kernel: use device-DAX (ndctl create-namespace -m devdax)"
          : "the rule table (Expectations.rules) and this kernel disagree: report it with this JSON"
      }
    } else {
      r.verdict = outcome == .setupFailed ? .error : .skip
      if outcome == .resourceLimited && r.reason == nil, let errno {
        r.reason = errno == .noMemory
          ? "ENOMEM: the pin exceeds RLIMIT_MEMLOCK" : "ENOSPC: vfio_iommu_type1 dma_entry_limit reached"
        r.hint = errno == .noMemory ? "ulimit -l unlimited, or run with CAP_IPC_LOCK" : "raise vfio_iommu_type1.dma_entry_limit"
      }
      if outcome == .unsupported && r.reason == nil, errno == .inappropriateIOCTLForDevice {
        r.reason = id.interface == .iommufdFile
          ? "this kernel lacks IOMMU_IOAS_MAP_FILE (6.13+)" : "ENOTTY: the kernel does not implement this request"
      }
    }
    return r
  }
}
