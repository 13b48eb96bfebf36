import DaxPinCore
import DaxPinFake
import DaxPinLinux
import FoundationEssentials
import Glibc

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

  public init(
    kernels: [LabKernelSpec], pmem: [PmemMode], accel: Accel?, outputDirectory: String, cacheDirectory: String,
    timeoutSeconds: Double, refresh: Bool, daxpinBinary: String, initScript: String,
    qemuBinary: String = "qemu-system-x86_64"
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
  }
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
  public var consoleTail: String?
  public var reportPath: String?
  /// What `ndctl list -N` and `daxctl list` printed in the guest, for comparison with the inventory.
  public var ndctlList: String?
  public var daxctlList: String?
  /// The fake profile this kernel is held to, and every cell or misuse answer where they differ;
  /// nil when no profile stands for the kernel.
  public var profile: String?
  public var contract: [String]?
  public var bootSeconds: Double?
  public var probeSeconds: Double?
  public var totalSeconds: Double
}

/// The host side of the kernel lab: for each kernel and pmem mode, build an initramfs, boot it
/// under QEMU, collect the guest's report from the serial console.
public struct Lab {
  public var options: LabOptions
  public var progress: (String) -> Void

  public init(options: LabOptions, progress: @escaping (String) -> Void) {
    self.options = options
    self.progress = progress
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
    var runs: [LabRun] = []
    for spec in options.kernels {
      let start = MonotonicClock.seconds()
      let tree: KernelTree
      do {
        tree = try kernelTree(spec)
        progress("\(spec.label): kernel \(tree.release)\(tree.version.map { " (\($0))" } ?? "")")
      } catch {
        for pmem in options.pmem {
          runs.append(LabRun(kernel: spec.label, pmem: pmem, error: "\(error)", totalSeconds: MonotonicClock.seconds() - start))
        }
        progress("\(spec.label): ERROR \(error)")
        continue
      }
      for pmem in options.pmem {
        let run = boot(tree, pmem: pmem, accel: accel, accelReason: reason)
        runs.append(run)
      }
    }
    return runs
  }

  func kernelTree(_ spec: LabKernelSpec) throws(LabError) -> KernelTree {
    switch spec {
    case .debian(let d):
      return try DebianKernelFetcher(cacheDirectory: options.cacheDirectory, log: { progress("  \($0)") }).fetch(d, refresh: options.refresh)
    case .path(let p):
      guard FileManager.default.fileExists(atPath: p) else { throw .usage("--kernel \(p): no such file or directory") }
      return try KernelTree.locate(label: spec.label, version: nil, root: p)
    case .source(let v):
      return try SourceKernelBuilder(cacheDirectory: options.cacheDirectory, log: { progress("  \($0)") }).build(version: v, refresh: options.refresh)
    }
  }

  func boot(_ tree: KernelTree, pmem: PmemMode, accel: Accel, accelReason: String) -> LabRun {
    let start = MonotonicClock.seconds()
    var run = boot(tree, pmem: pmem, accel: accel, accelReason: accelReason, start: start)
    run.totalSeconds = MonotonicClock.seconds() - start
    return run
  }

  private func boot(_ tree: KernelTree, pmem: PmemMode, accel: Accel, accelReason: String, start: Double) -> LabRun {
    let name = "\(tree.label)-\(pmem.rawValue)"
    var run = LabRun(kernel: tree.label, release: tree.release, pmem: pmem, totalSeconds: 0)
    let scratch: String
    do { scratch = try HostProcess.scratchDirectory() } catch {
      run.error = "\(error)"
      return run
    }
    defer { HostProcess.removeTree(scratch) }

    let built: Initramfs.Built
    do {
      let modules = try ModuleClosure.resolve(tree: tree, pmem: pmem)
      built = try Initramfs(tree: tree, pmem: pmem, modules: modules, daxpinBinary: options.daxpinBinary, initScript: options.initScript)
        .build(to: scratch + "/initramfs.cpio", scratch: scratch)
      progress("\(name): initramfs \(built.bytes / 1_048_576) MiB (\(built.files) files, daxpin \(built.daxpinBytes / 1_048_576) MiB)")
    } catch {
      run.error = "\(error)"
      progress("\(name): ERROR \(error)")
      return run
    }

    var nvdimms: [String] = []
    if pmem == .nvdimm {
      for i in 0..<LabLayout.standard.regions {
        let f = "\(scratch)/nvdimm\(i).img"
        _ = FileManager.default.createFile(atPath: f, contents: nil)
        _ = truncate(f, off_t((LabLayout.standard.regionMiB + QEMUCommand.labelSlackMiB) << 20))
        nvdimms.append(f)
      }
    }
    let console = "\(options.outputDirectory)/\(name).console.log"
    try? FileManager.default.removeItem(atPath: console)
    var qemu = QEMUCommand(accel: accel, kernel: tree.image, initrd: built.path, console: console, pmem: pmem, nvdimmFiles: nvdimms)
    qemu.binary = options.qemuBinary
    progress("\(name): booting (\(accel.rawValue))")
    let pid: pid_t
    do { pid = try HostProcess.spawn(qemu.arguments, stdout: scratch + "/qemu.out", stderr: scratch + "/qemu.err") } catch {
      run.error = "\(error)"
      return run
    }
    var bootAt: Double?
    var probeStart: Double?
    var probeEnd: Double?
    var exit: HostProcess.Exit?
    var killedFor: String?
    while exit == nil {
      usleep(200_000)
      exit = HostProcess.poll(pid)
      let text = HostProcess.readFile(console) ?? ""
      let now = MonotonicClock.seconds()
      if bootAt == nil, text.contains("DAXPIN-LAB: kernel") { bootAt = now }
      if probeStart == nil, text.contains("===DAXPIN-BEGIN probe===") { probeStart = now }
      if probeEnd == nil, text.contains("===DAXPIN-END probe") { probeEnd = now }
      if exit == nil, text.contains("Kernel panic - not syncing") {
        usleep(500_000)
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
    let parsed = LabConsole.parse(HostProcess.readFile(console) ?? "")
    run.bootSeconds = bootAt.map { $0 - start }
    if let a = probeStart, let b = probeEnd { run.probeSeconds = b - a }
    let qemuErr = (HostProcess.readFile(scratch + "/qemu.err") ?? "").trimmingCharacters(in: "\n ")
    func fail(_ why: String) -> LabRun {
      run.error = why
      run.consoleTail = parsed.tail(40)
      progress("\(name): ERROR \(why)")
      return run
    }
    if let killedFor { return fail(killedFor) }
    if parsed.panicked { return fail("kernel panic") }
    if let e = parsed.errors.first { return fail("guest setup failed: \(e)") }
    guard let text = parsed.sections["probe"] else {
      return fail("no report on the console (QEMU \(exit.map { "exit \($0.status.map(String.init) ?? "signal")" } ?? "?")\(qemuErr.isEmpty ? "" : ": \(qemuErr.suffix(300))"))")
    }
    guard var report = try? ReportJSON.decode(Report.self, from: text) else {
      return fail("the probe report between the markers is not valid JSON (daxpin exit \(parsed.exitCodes["probe"].map(String.init) ?? "?"))")
    }
    report.lab = LabInfo(
      kernel: tree.label, packageVersion: tree.version, pmem: pmem.rawValue, accel: accel.rawValue, accelReason: accelReason,
      bootSeconds: run.bootSeconds, probeSeconds: run.probeSeconds, totalSeconds: MonotonicClock.seconds() - start,
      initramfsBytes: built.bytes)
    let path = "\(options.outputDirectory)/\(name).json"
    if let json = try? ReportJSON.encode(report) {
      try? Data(json.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
      run.reportPath = path
    }
    run.report = report
    run.ndctlList = parsed.sections["ndctl"]
    run.daxctlList = parsed.sections["daxctl"]
    if let profile = KernelProfile(labKernel: tree.label) {
      let real = parsed.sections["contract"].flatMap { try? ReportJSON.decode(MisuseAnswers.self, from: $0) } ?? [:]
      run.profile = profile.rawValue
      run.contract = Contract.differences(report: report, answers: real, profile: profile)
      if !run.contract!.isEmpty { progress("\(name): \(run.contract!.count) disagreements with profile \(profile.rawValue)") }
    }
    let s = report.summary
    progress("\(name): \(s.pass) pass, \(s.fail) fail, \(s.skip) skip, \(s.error) error (boot \(fmt(run.bootSeconds)) s, probe \(fmt(run.probeSeconds)) s)")
    return run
  }
}

/// Seconds to one decimal (`27.4`), `?` when unknown.
public func fmt(_ v: Double?) -> String {
  guard let v else { return "?" }
  return String(Double(Int(v * 10)) / 10)
}
