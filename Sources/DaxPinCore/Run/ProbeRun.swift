/// The one probe pipeline: inventory → targets → engine → report. `daxpin probe` (both
/// backends), `daxpin contract`, the lab's contract check and the tests all run through this, so
/// every default and every check lives in one place.
public struct ProbeRun {
  public let host: any Host
  public let request: ProbeRequest
  /// Called after each cell (progress, tests).
  public var onResult: ((ProbeResult) -> Void)?
  /// Called with each thing worth telling the user that is not a cell (a leftover removed).
  public var onNotice: ((String) -> Void)?

  public init(host: any Host, request: ProbeRequest) {
    self.host = host
    self.request = request
  }

  /// Validates and resolves every target once, through the seam, then probes and reports.
  /// Everything the run maps, pins, opens or creates is released before it returns or throws.
  public func run() throws(ProbeProblem) -> Report {
    let (inventory, targets) = try prepare()
    var engine = ProbeEngine(
      kernel: host.kernel, targets: targets, features: KernelFeatures(inventory.kernel), interfaces: request.interfaces,
      kinds: request.kinds, accesses: request.accesses, clock: host.microseconds)
    var done = 0
    let kernel = host.kernel
    let interruptAfter = request.interruptAfter
    let onResult = self.onResult
    engine.onResult = { result in
      done += 1
      onResult?(result)
      if let n = interruptAfter, done == n { kernel.raise(2) }
    }
    let results: [ProbeResult]
    do {
      results = try engine.run()
    } catch {
      throw .interrupted(signal: kernel.pendingSignal() ?? 2, completed: error.completed.count)
    }
    return Report(toolVersion: request.toolVersion, backend: host.backend, host: host.identity, inventory: inventory, probes: results)
  }

  /// The misuse scenarios on this host's kernel (`daxpin contract`), with the same targets.
  public func misuseAnswers() throws(ProbeProblem) -> MisuseAnswers {
    let (_, targets) = try prepare()
    return MisuseScenarios.run(host.kernel, .init(targets: targets))
  }

  /// Root check, inventory, targets, and the sweep of dead runs' leftovers.
  func prepare() throws(ProbeProblem) -> (Inventory, ProbeTargets) {
    guard host.privileged else {
      throw .target("probe needs root: it opens VFIO groups, /dev/iommu and /dev/dax and pins memory (run: sudo daxpin probe)")
    }
    let inventory = host.inventory()
    let targets = try TargetResolver(kernel: host.kernel, inventory: inventory, request: request).resolve()
    let sweep = LeftoverSweep(kernel: host.kernel)
    for parent in targets.scratchParents {
      for notice in sweep.sweep(parent) { onNotice?(notice) }
    }
    return (inventory, targets)
  }
}
