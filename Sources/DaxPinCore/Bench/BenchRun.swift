/// The `daxpin bench` pipeline: root check, inventory, targets (the probe's `TargetResolver`:
/// the device-DAX device and the VFIO group are checked once, before anything is made), limits,
/// engine, report. Everything the run maps, pins or opens is released before it returns or throws.
public struct BenchRun {
  public let host: any Host
  public let request: BenchRequest
  /// Called after each cell (progress).
  public var onResult: ((BenchResult) -> Void)?

  public init(host: any Host, request: BenchRequest) {
    self.host = host
    self.request = request
  }

  public func run() throws(ProbeProblem) -> BenchReport {
    guard host.privileged else {
      throw .target("bench needs root: it opens VFIO groups, /dev/iommu and /dev/dax and pins memory (run: sudo daxpin bench)")
    }
    guard request.size > 0 else { throw .usage("--size must be more than 0 bytes") }
    guard request.iterations > 0 else { throw .usage("--iterations must be 1 or more") }
    let inventory = host.inventory()
    let targets = try TargetResolver(kernel: host.kernel, inventory: inventory, request: request.probeRequest).resolve()
    let kernel = host.kernel
    let privileges = inventory.privileges
    let limits = BenchLimits(
      memoryAvailable: kernel.memoryAvailable(), hugetlbFree2M: targets.hugetlbFree2M, devdaxSize: nil,
      devdaxAlign: targets.devdax?.align ?? (2 << 20), memlockBytes: privileges.capIPCLock ? nil : privileges.memlockSoftBytes)
    var engine = BenchEngine(kernel: kernel, targets: targets, request: request, limits: limits, clock: host.nanoseconds)
    engine.onResult = onResult
    if let n = request.interruptAfter { engine.onRound = { if $0 == n { kernel.raise(2) } } }
    let results: [BenchResult]
    do {
      results = try engine.run()
    } catch {
      throw .interrupted(signal: kernel.pendingSignal() ?? 2, completed: error.completed.count)
    }
    return BenchReport(
      toolVersion: request.toolVersion, backend: host.backend, host: host.identity, kernel: inventory.kernel.release, request: request,
      results: results)
  }
}
