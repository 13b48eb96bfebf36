import DaxPinCore
import DaxPinFake
import DaxPinLinux
import Dispatch
import FoundationEssentials
import Glibc
import Synchronization
import SystemPackage

/// What the user asked `daxpin lab` for.
public struct LabOptions: Sendable {
  public var kernels: [LabKernelSpec]
  public var pmem: [PmemMode]
  /// nil: auto.
  public var accel: Accel?
  public var outputDirectory: String
  public var cacheDirectory: String
  public var timeoutSeconds: Double
  public var refresh: Bool
  public var daxpinBinary: String
  public var initScript: String
  /// The emulator to run (tests put a stand-in here).
  public var qemuBinary: String
  /// Guests booted at once.
  public var jobs: Int
  /// Put the per-step breakdown (`LabTimeline.steps`) into each run and report.
  public var timings: Bool
  /// Progress goes to a terminal: long steps (a kernel build, a download) redraw a status line
  /// instead of printing a line every 30 s.
  public var interactive = false
  /// `--exec`: a command run in each guest after the probe (`LabExec`).
  public var exec: LabExec?
  /// `--bench`: after the contract, the guest runs `daxpin bench` (and pinbench, its C twin,
  /// when `pinbenchSource` compiles) with `benchArguments`.
  public var bench = false
  public var benchArguments = LabBench.defaultArguments
  /// `bench/pinbench.c` of the checkout, compiled static for the guest.
  public var pinbenchSource: String?

  public init(
    kernels: [LabKernelSpec], pmem: [PmemMode], accel: Accel?, outputDirectory: String, cacheDirectory: String,
    timeoutSeconds: Double, refresh: Bool, daxpinBinary: String, initScript: String,
    qemuBinary: String = "qemu-system-x86_64", jobs: Int = 1, timings: Bool = false
  ) {
    self.qemuBinary = qemuBinary
    self.kernels = kernels
    self.pmem = pmem
    self.accel = accel
    self.outputDirectory = outputDirectory
    self.cacheDirectory = cacheDirectory
    self.timeoutSeconds = timeoutSeconds
    self.refresh = refresh
    self.daxpinBinary = daxpinBinary
    self.initScript = initScript
    self.jobs = jobs
    self.timings = timings
  }

  /// The machine's online CPUs: `--jobs`' default.
  public static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// One boot: a kernel with one pmem mode, and what came of it.
public struct LabRun: Sendable {
  public var kernel: String
  public var release: String?
  public var pmem: PmemMode
  /// The guest's report, with `lab` filled in; nil when the run failed.
  public var report: Report?
  /// Why the run failed (panic, timeout, a missing module, no report), with the console tail.
  public var error: String?
  /// Why the kernel cannot run this pmem mode at all (`PmemSupport`): the run was not booted, and
  /// that is no failure.
  public var notSupported: String?
  public var consoleTail: String?
  public var reportPath: String?
  /// What `ndctl list -N` and `daxctl list` printed in the guest, for comparison with the inventory.
  public var ndctlList: String?
  public var daxctlList: String?
  /// The fake profile this kernel is held to, and every cell or misuse answer where they differ;
  /// nil when no profile stands for the kernel.
  public var profile: String?
  public var contract: [String]?
  /// The guest kernel's answers to the misuse scenarios (`daxpin contract` in the guest).
  public var misuse: MisuseAnswers?
  /// What `--exec`'s command did; nil without `--exec`.
  public var exec: LabExecResult?
  public var bootSeconds: Double?
  public var probeSeconds: Double?
  public var totalSeconds: Double
  /// `pvh` or `bzimage`.
  public var boot: String?
  /// The base initramfs came from the cache.
  public var initramfsCached: Bool?
  /// The kernel's preparation, shared by its runs.
  public var prepareSeconds: Double?
  /// Where the seconds went (always collected; reported with `--timings`).
  public var timeline: LabTimeline?
  public var timings: [LabTiming] { timeline?.steps ?? [] }
  /// `--bench`: the guest's `daxpin bench` report and pinbench's lines (one JSON object each).
  public var bench: BenchReport?
  public var pinbench: [PinbenchLine] = []
  public var benchError: String?
  /// Files of the run that could not be written into `--out` (`PATH: ERRNO`): the run's results
  /// are still shown, but `daxpin lab` exits 2.
  public var writeErrors: [String] = []
}

/// A kernel made ready to boot: its tree, the image QEMU loads, each pmem mode's module order
/// (guest paths) and the base initramfs. Shared by the kernel's runs.
struct PreparedKernel: Sendable {
  var tree: KernelTree
  /// The PVH vmlinux, or the bzImage.
  var image: String
  var boot: String
  var modules: [PmemMode: Result<[String], LabError>]
  var base: Initramfs.Base
  var seconds: Double
}

/// Runs handed from the preparing thread to the workers, in request order.
final class RunQueue: Sendable {
  struct Job: Sendable {
    var index: Int
    var kernel: PreparedKernel
    var pmem: PmemMode
  }
  private let state = Mutex<(jobs: [Job], closed: Bool)>(([], false))
  private let available = DispatchSemaphore(value: 0)
  private let workers: Int

  init(workers: Int) { self.workers = workers }

  func push(_ job: Job) {
    state.withLock { $0.jobs.append(job) }
    available.signal()
  }

  /// No more jobs: each worker's next `next()` after the queue drains returns nil.
  func close() {
    state.withLock { $0.closed = true }
    for _ in 0..<workers { available.signal() }
  }

  /// The oldest job, waiting for one; nil once closed and empty.
  func next() -> Job? {
    available.wait()
    return state.withLock { $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }
  }
}

/// The host side of the kernel lab: for each kernel and pmem mode, build an initramfs, boot it
/// under QEMU, collect the guest's report from the serial console.
///
/// Kernels are prepared one after the other, in the order asked, on the calling thread (apt and
/// the cache are not shared between two preparations); each kernel's runs go to a queue as soon
/// as it is ready, and `jobs` workers boot them, each run with its own QEMU, scratch directory
/// and timeout. Results come back in the order asked, whatever finishes first.
public struct Lab: Sendable {
  public var options: LabOptions
  public var progress: @Sendable (String) -> Void
  /// A status line that replaces the previous one (`options.interactive` only).
  public var status: @Sendable (String) -> Void

  public init(options: LabOptions, progress: @escaping @Sendable (String) -> Void, status: @escaping @Sendable (String) -> Void = { _ in }) {
    self.options = options
    self.progress = progress
    self.status = status
  }

  /// `--accel auto`: KVM only where it can really run a guest.
  public func chooseAccel() -> (Accel, String) {
    if let forced = options.accel { return (forced, "\(forced.rawValue.uppercased()) (asked for)") }
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let modules = ((try? String(contentsOfFile: "/proc/modules", encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
      $0.split(separator: " ").first.map(String.init)
    }
    return AccelChoice.auto(cpuinfo: cpuinfo, kvmNode: FileManager.default.fileExists(atPath: "/dev/kvm"), loadedModules: modules)
  }

  public func run() -> [LabRun] {
    let fm = FileManager.default
    try? fm.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
    let (accel, reason) = chooseAccel()
    progress("accelerator: \(reason)")
    let count = options.kernels.count * options.pmem.count
    let results = Mutex<[LabRun?]>(Array(repeating: nil, count: count))
    var pinbench: [UInt8]?
    if options.bench, let source = options.pinbenchSource {
      switch LabBench.compile(source) {
      case .success(let binary): pinbench = binary
      case .failure(let e): progress("bench: \(e); the guest runs daxpin bench without its C twin")
      }
    }
    let runArchiveExtras: [(String, [UInt8])] = pinbench.map { [("/bin/pinbench", $0)] } ?? []
    let workers = max(1, min(options.jobs, count))
    let queue = RunQueue(workers: workers)
    let group = DispatchGroup()
    for w in 0..<workers {
      // A serial queue of its own gets a thread of its own: the workers block in their boots.
      DispatchQueue(label: "daxpin.lab.worker.\(w)").async(group: group) {
        while let job = queue.next() {
          let run = boot(job.kernel, pmem: job.pmem, accel: accel, accelReason: reason, extras: runArchiveExtras)
          results.withLock { $0[job.index] = run }
        }
      }
    }
    var index = 0
    for spec in options.kernels {
      let start = MonotonicClock.seconds()
      do {
        let kernel = try prepare(spec)
        for pmem in options.pmem {
          queue.push(.init(index: index, kernel: kernel, pmem: pmem))
          index += 1
        }
      } catch {
        progress("\(spec.label): ERROR \(error)")
        for pmem in options.pmem {
          let run = LabRun(kernel: spec.label, pmem: pmem, error: "\(error)", totalSeconds: MonotonicClock.seconds() - start)
          results.withLock { $0[index] = run }
          index += 1
        }
      }
    }
    queue.close()
    group.wait()
    return results.withLock { $0.map { $0! } }
  }

  /// Fetches or finds the kernel, resolves each pmem mode's modules, gets the base initramfs
  /// from the cache or builds it, and the PVH vmlinux.
  func prepare(_ spec: LabKernelSpec) throws(LabError) -> PreparedKernel {
    let start = MonotonicClock.seconds()
    let tree = try kernelTree(spec)
    progress("\(spec.label): kernel \(tree.release)\(tree.version.map { " (\($0))" } ?? "")")
    var modules: [PmemMode: Result<[String], LabError>] = [:]
    var union: [String] = []
    let config = tree.config.flatMap { HostProcess.readFile($0) }.map(PmemSupport.parseConfig)
    for pmem in options.pmem {
      if let why = PmemSupport.missing(pmem, release: tree.release, config: config) {
        modules[pmem] = .failure(.notSupported(why))
        continue
      }
      do {
        let hostPaths = try ModuleClosure.resolve(tree: tree, pmem: pmem)
        for m in hostPaths where !union.contains(m) { union.append(m) }
        modules[pmem] = .success(hostPaths.compactMap { Initramfs.guestModulePath($0, release: tree.release) })
      } catch {
        modules[pmem] = .failure(error)
      }
    }
    let t0 = MonotonicClock.seconds()
    let base = try Initramfs(tree: tree, modules: union, daxpinBinary: options.daxpinBinary, initScript: options.initScript)
      .base(cacheDirectory: options.cacheDirectory)
    progress(
      "\(spec.label): initramfs \(base.bytes / 1_048_576) MiB (\(base.files) files, daxpin \(base.daxpinBytes / 1_048_576) MiB) "
        + (base.cached ? "from the cache" : "built and cached") + " in \(fmt2(MonotonicClock.seconds() - t0)) s")
    var image = tree.image
    var boot = "bzimage"
    let (pvh, why) = PVHKernel.kernel(for: tree.image, cacheDirectory: options.cacheDirectory)
    if let pvh {
      image = pvh
      boot = "pvh"
    } else {
      progress("\(spec.label): booting the bzImage: \(why)")
    }
    return PreparedKernel(tree: tree, image: image, boot: boot, modules: modules, base: base, seconds: MonotonicClock.seconds() - start)
  }

  func kernelTree(_ spec: LabKernelSpec) throws(LabError) -> KernelTree {
    let log: @Sendable (String) -> Void = { [progress] in progress("\(spec.label): \($0)") }
    let sink = ProgressSink(interactive: options.interactive, line: log, status: { [status] in status("\(spec.label): \($0)") })
    switch spec {
    case .debian(let d):
      return try DebianKernelFetcher(cacheDirectory: options.cacheDirectory, log: log, progress: sink).fetch(d, refresh: options.refresh)
    case .path(let p):
      guard FileManager.default.fileExists(atPath: p) else { throw .usage("--kernel \(p): no such file or directory") }
      return try KernelTree.locate(label: spec.label, version: nil, root: p)
    case .source(let v):
      return try SourceKernelBuilder(cacheDirectory: options.cacheDirectory, log: log, progress: sink).build(version: v, refresh: options.refresh)
    }
  }

  func boot(_ kernel: PreparedKernel, pmem: PmemMode, accel: Accel, accelReason: String, extras: [(String, [UInt8])] = []) -> LabRun {
    var timeline = LabTimeline(start: MonotonicClock.seconds())
    var run = boot(kernel, pmem: pmem, accel: accel, accelReason: accelReason, extras: extras, timeline: &timeline)
    timeline.end = MonotonicClock.seconds()
    run.totalSeconds = timeline.end! - timeline.start
    run.timeline = timeline
    if options.timings, let path = run.reportPath, var report = run.report {
      report.lab?.timings = timeline.steps
      report.lab?.totalSeconds = run.totalSeconds
      report.lab?.qemuCPUSeconds = timeline.qemuCPUSeconds
      if let json = try? ReportJSON.encode(report) { writeRunFile(Array(json.utf8), to: path, of: &run) }
      run.report = report
    }
    return run
  }

  private func boot(
    _ kernel: PreparedKernel, pmem: PmemMode, accel: Accel, accelReason: String, extras: [(String, [UInt8])],
    timeline: inout LabTimeline
  ) -> LabRun {
    let tree = kernel.tree
    let start = timeline.start
    let name = "\(tree.label)-\(pmem.rawValue)"
    var run = LabRun(kernel: tree.label, release: tree.release, pmem: pmem, totalSeconds: 0)
    run.boot = kernel.boot
    run.initramfsCached = kernel.base.cached
    run.prepareSeconds = kernel.seconds
    func fail(_ why: String, console: LabConsole? = nil) -> LabRun {
      run.error = why
      run.consoleTail = console?.tail(40)
      progress("\(name): ERROR \(why)")
      return run
    }
    let modules: [String]
    switch kernel.modules[pmem] {
    case .success(let m): modules = m
    case .failure(.notSupported(let why)):
      run.notSupported = why
      progress("\(name): not supported: \(why)")
      return run
    case .failure(let e): return fail("\(e)")
    case nil: return fail("no module order for \(pmem.rawValue)")
    }
    let scratch: String
    do { scratch = try HostProcess.scratchDirectory() } catch { return fail("\(error)") }
    defer { HostProcess.removeTree(scratch) }

    let initrd = scratch + "/initramfs.cpio"
    do {
      let execFiles = try options.exec?.guestFiles(layout: .standard, kernel: tree.label, pmem: pmem, timeout: options.timeoutSeconds) ?? []
      try Initramfs.assemble(base: kernel.base.path, runArchive: Initramfs.runArchive(
          pmem: pmem, modules: modules, bench: options.bench ? options.benchArguments : nil,
          extra: execFiles + extras.map { ($0.0, $0.1, true) }), to: initrd)
    } catch {
      return fail("\(error)")
    }
    // The pmem's backing files: sparse, in the scratch directory, removed with it.
    var pmemFiles: [String] = []
    for (path, mib) in QEMUCommand.backingFiles(pmem, in: scratch) {
      let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      guard fd >= 0 else { return fail("cannot create \(path): \(Errno(rawValue: errno).name)") }
      let sized = ftruncate(fd, off_t(mib) << 20) == 0
      let error = errno
      close(fd)
      guard sized else { return fail("cannot size \(path) to \(mib) MiB: \(Errno(rawValue: error).name)") }
      pmemFiles.append(path)
    }
    let console = "\(options.outputDirectory)/\(name).console.log"
    try? FileManager.default.removeItem(atPath: console)
    try? FileManager.default.removeItem(atPath: "\(options.outputDirectory)/\(name).exec.out")
    var qemu = QEMUCommand(accel: accel, kernel: kernel.image, initrd: initrd, console: console, pmem: pmem, pmemFiles: pmemFiles)
    qemu.binary = options.qemuBinary
    qemu.firmwareLog = scratch + "/firmware.log"
    qemu.modulesUnsigned = kernel.base.modulesUnsigned
    progress("\(name): booting (\(accel.rawValue), \(kernel.boot == "pvh" ? "PVH" : "bzImage"))")
    let pid: pid_t
    timeline.spawned = MonotonicClock.seconds()
    do { pid = try HostProcess.spawn(qemu.arguments, stdout: scratch + "/qemu.out", stderr: scratch + "/qemu.err") } catch {
      return fail("\(error)")
    }
    let consoleFollower = FileFollower(console)
    let firmwareFollower = FileFollower(scratch + "/firmware.log")
    var bootAt: Double?
    var probeStart: Double?
    var probeEnd: Double?
    var exit: HostProcess.Exit?
    var killedFor: String?
    var panicSeen: Double?
    func follow(flush: Bool = false) {
      let now = MonotonicClock.seconds()
      for line in firmwareFollower.poll(now: now, flush: flush) where timeline.firmwareHandedOff == nil && line.hasPrefix("Booting from") {
        timeline.firmwareHandedOff = now
      }
      timeline.firmwareStarted = timeline.firmwareStarted ?? firmwareFollower.firstByteAt
      for line in consoleFollower.poll(now: now, flush: flush) {
        if let m = LabTimeline.mark(in: line) { timeline.marks.append(.init(uptime: m.uptime, step: m.step, seen: now)) }
        if bootAt == nil, line.contains("DAXPIN-LAB: kernel") { bootAt = now }
        if probeStart == nil, line.hasPrefix("===DAXPIN-BEGIN probe") { probeStart = now }
        if probeEnd == nil, line.hasPrefix("===DAXPIN-END probe") { probeEnd = now }
        if panicSeen == nil, line.contains("Kernel panic - not syncing") { panicSeen = now }
      }
    }
    while exit == nil {
      usleep(25_000)
      exit = HostProcess.poll(pid)
      follow(flush: exit != nil)
      let now = MonotonicClock.seconds()
      // Half a second for the panic's backtrace to reach the console.
      if exit == nil, let p = panicSeen, now - p > 0.5 {
        HostProcess.kill(pid)
        killedFor = "kernel panic"
        break
      }
      if exit == nil, now - start > options.timeoutSeconds {
        HostProcess.kill(pid)
        killedFor = "timeout after \(Int(options.timeoutSeconds)) s"
        break
      }
    }
    timeline.exited = MonotonicClock.seconds()
    timeline.qemuCPUSeconds = exit?.cpuSeconds
    follow(flush: true)
    let parsed = LabConsole.parse(HostProcess.readFile(console) ?? "")
    run.bootSeconds = bootAt.map { $0 - start }
    if let p = timeline.seconds(from: "lists", to: "probe") {
      run.probeSeconds = p
    } else if let a = probeStart, let b = probeEnd {
      run.probeSeconds = b - a
    }
    let qemuErr = (HostProcess.readFile(scratch + "/qemu.err") ?? "").trimmingCharacters(in: "\n ")
    // The command's result is kept whatever became of the probe, and the probe's whatever became
    // of the command (it runs last).
    if options.exec != nil { run.exec = collectExec(parsed, name: name, run: &run) }
    if let killedFor { return fail(killedFor, console: parsed) }
    if parsed.panicked { return fail("kernel panic", console: parsed) }
    if let e = parsed.errors.first { return fail("guest setup failed: \(e)", console: parsed) }
    guard let text = parsed.sections["probe"] else {
      return fail(
        "no report on the console (QEMU \(exit.map { "exit \($0.status.map(String.init) ?? "signal")" } ?? "?")\(qemuErr.isEmpty ? "" : ": \(qemuErr.suffix(300))"))",
        console: parsed)
    }
    guard var report = try? ReportJSON.decode(Report.self, from: text) else {
      return fail(
        "the probe report between the markers is not valid JSON (daxpin exit \(parsed.exitCodes["probe"].map(String.init) ?? "?"))",
        console: parsed)
    }
    report.lab = LabInfo(
      kernel: tree.label, packageVersion: tree.version, pmem: pmem.rawValue, accel: accel.rawValue, accelReason: accelReason,
      bootSeconds: run.bootSeconds, probeSeconds: run.probeSeconds, totalSeconds: MonotonicClock.seconds() - start,
      initramfsBytes: Initramfs.size(initrd), boot: kernel.boot,
      prepareSeconds: options.timings ? kernel.seconds : nil, initramfsCached: options.timings ? kernel.base.cached : nil)
    let path = "\(options.outputDirectory)/\(name).json"
    if let json = try? ReportJSON.encode(report), writeRunFile(Array(json.utf8), to: path, of: &run) {
      run.reportPath = path
    }
    run.report = report
    run.ndctlList = parsed.sections["ndctl"]
    run.daxctlList = parsed.sections["daxctl"]
    if let profile = KernelProfile(labKernel: tree.label) {
      let real = parsed.sections["contract"].flatMap { try? ReportJSON.decode(MisuseAnswers.self, from: $0) } ?? [:]
      run.misuse = real
      run.profile = profile.rawValue
      run.contract = Contract.differences(report: report, answers: real, profile: profile, pmem: pmem)
      if !run.contract!.isEmpty { progress("\(name): \(run.contract!.count) disagreements with profile \(profile.rawValue)") }
    }
    if options.bench {
      let bench = LabBench.collect(parsed)
      (run.bench, run.pinbench, run.benchError) = (bench.report, bench.pinbench, bench.error)
      for (suffix, text) in bench.files { writeRunFile(Array(text.utf8), to: "\(options.outputDirectory)/\(name)\(suffix)", of: &run) }
      if let e = bench.error { progress("\(name): bench: \(e)") }
    }
    let s = report.summary
    progress(
      "\(name): \(s.pass) pass, \(s.fail) fail, \(s.skip) skip, \(s.error) error (boot \(fmt(run.bootSeconds)) s, probe \(fmt(run.probeSeconds)) s, total \(fmt(MonotonicClock.seconds() - start)) s)")
    return run
  }
}

extension Lab {
  /// The `exec` section of the console, its output written to `<out>/<name>.exec.out` (replaced
  /// atomically, byte for byte, possibly empty).
  func collectExec(_ console: LabConsole, name: String, run: inout LabRun) -> LabExecResult {
    var result = LabExecResult.parse(console)
    guard result.problem == nil || !result.output.isEmpty else { return result }
    let path = "\(options.outputDirectory)/\(name).exec.out"
    if writeRunFile(result.output, to: path, of: &run) {
      result.outputPath = path
    } else {
      result.problem = result.problem ?? "cannot write \(path)"
    }
    return result
  }
}

extension Lab {
  /// Writes one of a run's files into `--out` (checked by `TrustedDirectory` before the lab
  /// began): atomically, relative to the directory's descriptor, without touching the signal
  /// handlers (`OutputFile`, `catchingSignals: false`). A failure (a full or read-only
  /// filesystem, RLIMIT_FSIZE) is a progress line and one of the run's `writeErrors`.
  @discardableResult
  func writeRunFile(_ bytes: [UInt8], to path: String, of run: inout LabRun) -> Bool {
    do {
      try OutputFile.write(bytes, to: path, catchingSignals: false)
      return true
    } catch {
      run.writeErrors.append("\(error)")
      progress("\(run.kernel)-\(run.pmem.rawValue): cannot write \(error)")
      return false
    }
  }
}

/// Seconds to two decimals (`0.05`).
func fmt2(_ v: Double) -> String {
  let c = Int((v * 100).rounded())
  return "\(c / 100).\(c % 100 < 10 ? "0" : "")\(c % 100)"
}

/// Seconds to one decimal (`27.4`), `?` when unknown.
public func fmt(_ v: Double?) -> String {
  guard let v else { return "?" }
  return String(Double(Int(v * 10)) / 10)
}
