import SystemPackage

/// Times long-term pins: for each interface and memory, one session (the probe's own
/// `PinSession`s), one buffer prepared and faulted before any clock is read, one untimed round
/// that checks the accounting, then `iterations` rounds of exactly the pin call and the unpin call
/// (`ReadyPin`: arguments made once, nothing computed or allocated between the clock reads).
/// Every round must unpin every byte it pinned, and `VmPin + VmLck` must come back to where the
/// cell started. Everything is released on every path, a terminating signal included.
public struct BenchEngine {
  public let kernel: any Kernel
  public let targets: ProbeTargets
  public let request: BenchRequest
  public let limits: BenchLimits
  /// A monotonic clock in nanoseconds (the fake passes a deterministic one).
  public var clock: () -> UInt64
  /// Called after each cell (progress).
  public var onResult: ((BenchResult) -> Void)?
  /// Called after each timed round with the number of rounds so far (`--interrupt-after`).
  var onRound: ((Int) -> Void)?

  public init(kernel: any Kernel, targets: ProbeTargets, request: BenchRequest, limits: BenchLimits, clock: @escaping () -> UInt64) {
    self.kernel = kernel
    self.targets = targets
    self.request = request
    self.limits = limits
    self.clock = clock
  }

  /// Stopped by SIGINT / SIGTERM / SIGHUP after releasing everything.
  public struct Interrupted: Error {
    public var completed: [BenchResult]
  }

  public func run() throws(Interrupted) -> [BenchResult] {
    var results: [BenchResult] = []
    var rounds = 0
    for interface in request.interfaces {
      if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
      let sessionCleanup = Cleanup()
      defer { sessionCleanup.run() }
      let session = openPinSession(interface, kernel: kernel, targets: targets, cleanup: sessionCleanup)
      for memory in request.memories {
        if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
        let result = cell(interface, memory, session: session, rounds: &rounds)
        // A cell a signal cut short is not a measurement.
        if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
        results.append(result)
        onResult?(result)
      }
    }
    if kernel.pendingSignal() != nil { throw Interrupted(completed: results) }
    return results
  }

  private func cell(_ interface: Interface, _ memory: BenchMemory, session: Result<any PinSession, SessionUnavailable>, rounds: inout Int)
    -> BenchResult
  {
    var r = BenchResult(interface: interface, memory: memory, status: .skipped, requestedBytes: request.size)
    func skip(_ reason: String, hint: String? = nil, errno: Errno? = nil, status: BenchStatus = .skipped) -> BenchResult {
      r.status = status
      r.reason = reason
      r.hint = hint
      if let errno { r.errno = errno.rawValue }
      return r
    }
    let s: any PinSession
    switch session {
    case .failure(let u): return skip(u.reason, hint: u.hint, status: u.outcome == .setupFailed ? .failed : .skipped)
    case .success(let open): s = open
    }
    if let why = s.notExercisedReason {
      return skip("\(why): there is no pin to time", hint: "attach a device with a real IOMMU domain, or run `daxpin lab --bench`")
    }
    var limits = self.limits
    if memory == .devdax, let dev = targets.devdax {
      limits.devdaxAlign = dev.align
      if limits.devdaxSize == nil, case .success(let c) = kernel.characterDevice(dev.path) { limits.devdaxSize = c.size }
    }
    let size: BenchSize
    // No device-DAX device: the preparer says so (unsupported), whatever the size.
    let sizing = memory == .devdax && targets.devdax == nil
      ? .success(BenchSize(bytes: request.size, reductions: [])) : BenchSizing.size(memory, requested: request.size, limits: limits)
    switch sizing {
    case .failure(let u): return skip(u.reason, hint: u.hint)
    case .success(let v): size = v
    }
    r.reductions = size.reductions

    let cellCleanup = Cleanup()
    defer { cellCleanup.run() }
    let buffer: BenchBuffer
    switch BenchBufferPreparer(kernel: kernel).prepare(memory, bytes: size.bytes, devdax: targets.devdax, cleanup: cellCleanup) {
    case .failure(let u): return skip(u.reason, hint: u.hint, errno: u.errno, status: u.outcome == .setupFailed ? .failed : .skipped)
    case .success(let b): buffer = b
    }
    r.bytes = size.bytes
    r.confirmedBy = buffer.memory.description.confirmedBy
    if let kb = buffer.anonHugePagesKB {
      r.anonHugePagesKB = kb
      r.hugePageShare = Double(kb) * 1024 / Double(size.bytes)
    }

    let pin: ReadyPin
    switch s.ready(buffer.memory, access: .rw) {
    case .failure(let n): return skip(n.reason, status: .failed)
    case .success(let p): pin = p
    }
    r.request = pin.request

    // The untimed round: the answer, the accounting while the pin is held, every byte back.
    let before = kernel.pinAccounting()
    switch pin.pin() {
    case .failure(let e): return refused(&r, e)
    case .success: r.pinnedBytes += pin.size
    }
    r.pinnedKB = pinnedDelta(before, kernel.pinAccounting())
    if let problem = unpinned(&r, pin.unpin(), pin) { return skip(problem, status: .failed) }

    var pinNs: [UInt64] = []
    var unpinNs: [UInt64] = []
    pinNs.reserveCapacity(request.iterations)
    unpinNs.reserveCapacity(request.iterations)
    var problem: String?
    for _ in 0..<request.iterations {
      if kernel.pendingSignal() != nil { break }
      let t0 = clock()
      let pinned = pin.pin()
      let t1 = clock()
      guard case .success = pinned else {
        if case .failure(let e) = pinned { problem = "round \(pinNs.count + 1): \(e.name)"; r.errno = e.rawValue }
        break
      }
      r.pinnedBytes += pin.size
      let undone = pin.unpin()
      let t2 = clock()
      pinNs.append(t1 &- t0)
      unpinNs.append(t2 &- t1)
      rounds += 1
      onRound?(rounds)
      if let p = unpinned(&r, undone, pin) { problem = p; break }
    }
    r.iterations = pinNs.count
    r.leftPinnedKB = pinnedDelta(before, kernel.pinAccounting())
    r.pinNs = BenchStats(pinNs)
    r.unpinNs = BenchStats(unpinNs)
    let total = zip(pinNs, unpinNs).reduce(UInt64(0)) { $0 &+ $1.0 &+ $1.1 }
    if total > 0 { r.gibPerSecond = Double(pin.size) * Double(pinNs.count) / Double(total) * 1e9 / Double(1 << 30) }
    if let median = r.pinNs?.median, median > 0 { r.pinGiBPerSecond = Double(pin.size) / Double(median) * 1e9 / Double(1 << 30) }
    if let problem { return skip(problem, status: .failed) }
    if let left = r.leftPinnedKB, left != 0 {
      return skip("VmPin + VmLck is \(left) kB above where the cell started: the kernel still charges pins it said it released", status: .failed)
    }
    r.status = .measured
    return r
  }

  /// The kernel refused the first pin: its errno, and what it means for a bench.
  private func refused(_ r: inout BenchResult, _ e: Errno) -> BenchResult {
    r.errno = e.rawValue
    switch e {
    case .noMemory:
      r.status = .skipped
      r.reason = "ENOMEM: the pin exceeds RLIMIT_MEMLOCK"
      r.hint = "ulimit -l unlimited, or run with CAP_IPC_LOCK"
    case .noSpace:
      r.status = .skipped
      r.reason = "ENOSPC: vfio_iommu_type1 dma_entry_limit reached"
      r.hint = "raise vfio_iommu_type1.dma_entry_limit"
    default:
      r.status = .refused
      r.reason = "the kernel refused the pin: \(e.name), nothing to time"
      r.hint = "daxpin probe --interface \(r.interface.rawValue) judges this answer against the rules"
    }
    return r
  }

  /// Books one unpin; a problem line when it failed or unpinned less than was pinned.
  private func unpinned(_ r: inout BenchResult, _ answer: Result<UInt64, Errno>, _ pin: ReadyPin) -> String? {
    switch answer {
    case .success(let n):
      r.unpinnedBytes += n
      return n == pin.size ? nil : "\(pin.unpinName) unpinned \(n) of \(pin.size) bytes"
    case .failure(let e):
      r.errno = e.rawValue
      return "\(pin.unpinName): \(e.name)"
    }
  }
}
