import ArgumentParser
import Dispatch
import DaxPinCore
import DaxPinLab
import DaxPinLinux
import FoundationEssentials
import Glibc

/// `daxpin lab`: boot real kernels under QEMU with emulated pmem and a virtual IOMMU, and probe.
struct LabCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lab",
    abstract: "Boot real kernels in QEMU with emulated pmem and a vIOMMU, and run the probe in each.",
    discussion: """
      Kernels come from Debian's packages through the mirror this machine's apt configuration
      names (bullseye, bookworm, trixie, sid and trixie-backports in a private apt state), from a
      kernel you built (--kernel PATH), or are built from linux-source (--kernel source:7.3).
      Each kernel boots once per pmem mode; reports land in OUT/<kernel>-<pmem>.json with the
      console in OUT/<kernel>-<pmem>.console.log, and OUT/matrix.md merges them.

      Examples:
        daxpin lab                                         debian-6.1, memmap and nvdimm
        daxpin lab --kernel debian-5.10 --kernel debian-latest --pmem nvdimm
        daxpin lab --kernel ~/linux/arch/x86/boot/bzImage --accel tcg
      """)

  @Option(name: .customLong("kernel"), help: ArgumentHelp(
    "debian-5.10, debian-6.1, debian-6.12, debian-latest, source:<version>, or a path (repeatable).", valueName: "KERNEL"))
  var kernels: [String] = ["debian-6.1"]

  @Option(help: ArgumentHelp("memmap, nvdimm or both.", valueName: "MODE"))
  var pmem: PmemChoice = .both

  @Option(help: ArgumentHelp("auto, kvm or tcg. auto uses KVM only where the CPU has vmx/svm and kvm_intel/kvm_amd is loaded.", valueName: "ACCEL"))
  var accel: AccelOption = .auto

  @Option(name: .customLong("out"), help: ArgumentHelp("Directory for reports, consoles and the matrix.", valueName: "OUT"))
  var outputDirectory: String = "lab-out"

  @Option(help: ArgumentHelp("Cache for the private apt state and extracted kernels.", valueName: "DIR"))
  var cache: String?

  @Option(help: ArgumentHelp("Seconds before a boot counts as hung.", valueName: "SECONDS"))
  var timeout: Double = 300

  @Option(help: ArgumentHelp(
    "Guests booted at once (default: the number of cores; each TCG guest uses one).", valueName: "N"))
  var jobs: Int = LabOptions.cores

  @Flag(help: "Print where each run's seconds went (QEMU, firmware, kernel, modules, namespaces, mkfs, probe, contract, shutdown) and put it in the reports.")
  var timings = false

  @Flag(help: "Fetch kernels again even when cached.")
  var refresh = false

  @Flag(help: "Fail unless the lab's core facts hold: vfio-type1v2 and io_uring refuse fsdax-{ext4,xfs}-shared.rw with EOPNOTSUPP, vfio-type1v2 pins devdax.rw, and every cell has a verdict.")
  var check = false

  func run() throws {
    let specs: [LabKernelSpec]
    do { specs = try kernels.map { s throws(LabError) in try LabKernelSpec(parsing: s) } } catch { throw ValidationError("\(error)") }
    guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    let modes = pmem.modes
    let accelChoice = accel.accel
    guard getuid() == 0 else { throw Exit.toolFailure("lab needs root: it runs apt-get download and depmod into its cache (run: sudo daxpin lab)") }
    guard let initScript = Self.findInitScript() else {
      throw Exit.toolFailure("cannot find scripts/lab/init next to the daxpin binary: run daxpin from its source checkout")
    }
    let home = getenv("HOME").map { String(cString: $0) } ?? "/root"
    let options = LabOptions(
      kernels: specs, pmem: modes, accel: accelChoice, outputDirectory: outputDirectory,
      cacheDirectory: cache ?? (getenv("XDG_CACHE_HOME").map { String(cString: $0) + "/daxpin" } ?? home + "/.cache/daxpin"),
      timeoutSeconds: timeout, refresh: refresh, daxpinBinary: Self.selfPath(), initScript: initScript, jobs: jobs,
      timings: timings)
    // Ctrl-C, SIGTERM, SIGHUP: the guests' QEMUs (and any apt-get or make) lead process groups of
    // their own, so daxpin stops them and removes its scratch directories before it exits by the
    // signal.
    let stops = ([SIGINT, SIGTERM, SIGHUP] as [Int32]).map { sig -> DispatchSourceSignal in
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      source.setEventHandler {
        let n = HostProcess.abandon()
        Stderr.line("\nlab: interrupted: stopped \(n) child process\(n == 1 ? "" : "es") and removed the scratch directories")
        signal(sig, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, sig)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(sig)
        Glibc.exit(128 + sig)
      }
      source.resume()
      return source
    }
    defer { stops.forEach { $0.cancel() } }
    var labOptions = options
    let tty = isatty(2) == 1
    labOptions.interactive = tty
    let start = MonotonicClock.seconds()
    // On a terminal a status line (a kernel build's progress) is redrawn in place; every other
    // line first clears it.
    let lab = Lab(
      options: labOptions, progress: { Stderr.line((tty ? "\r\u{1B}[K" : "") + "lab: \($0)") },
      status: { Stderr.status("lab: \($0)") })
    let runs = lab.run()

    for run in runs {
      guard let report = run.report else { continue }
      print("\n\(run.kernel)-\(run.pmem.rawValue) (\(report.kernel.release)): DAX verdicts")
      for p in report.probes where p.access == .rw && (p.memory.kind.isFilesystemDAX || p.memory.kind == .devdax)
        && (p.interface == .vfioType1v2 || p.interface == .ioUring || p.interface == .iommufd) && p.outcome != .unsupported
      {
        print(ProbeText.line(p, color: isatty(1) == 1))
      }
    }
    print(LabSummary.table(runs), terminator: "")
    if timings { print(LabSummary.timings(runs), terminator: "") }
    let reports = runs.compactMap(\.report)
    if !reports.isEmpty {
      let matrix = try Matrix(reports: reports)
      try? Data(matrix.markdown().utf8).write(to: URL(fileURLWithPath: outputDirectory + "/matrix.md"), options: .atomic)
      try? Data(matrix.jsonLines().utf8).write(to: URL(fileURLWithPath: outputDirectory + "/matrix.jsonl"), options: .atomic)
      print("matrix: \(outputDirectory)/matrix.md, \(outputDirectory)/matrix.jsonl")
    }
    for run in runs where run.error != nil {
      print("\n\(run.kernel)-\(run.pmem.rawValue): \(run.error!)")
      if let tail = run.consoleTail { print("--- console tail ---\n\(tail)\n---") }
    }
    print("lab: \(runs.count) runs in \(fmt(MonotonicClock.seconds() - start)) s")
    for run in runs where !(run.contract ?? []).isEmpty {
      print("\n\(run.kernel)-\(run.pmem.rawValue) disagrees with profile \(run.profile!):")
      run.contract!.forEach { print("  \($0)") }
    }
    let contractBroken = runs.contains { !($0.contract ?? []).isEmpty }
    var code: Int32 = runs.contains { $0.error != nil } ? 2 : reports.contains { $0.summary.fail > 0 } || contractBroken ? 1 : 0
    if check {
      let problems = LabCheck.problems(runs)
      for p in problems { Stderr.line("lab check: \(p)") }
      if !problems.isEmpty { code = max(code, 1) }
      if problems.isEmpty { print("lab check: passed") }
    }
    if code != 0 { throw ExitCode(code) }
  }

  static func selfPath() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return CommandLine.arguments[0] }
    let path = String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // Rebuilt while running: the kernel appends " (deleted)"; the path now holds the new build.
    return path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
  }

  /// scripts/lab/init in the checkout the binary was built from (walks up from the binary).
  static func findInitScript() -> String? {
    var dir = selfPath()
    for _ in 0..<8 {
      guard let slash = dir.lastIndex(of: "/") else { break }
      dir = String(dir[..<slash])
      let candidate = dir + "/scripts/lab/init"
      if FileManager.default.fileExists(atPath: candidate) { return candidate }
    }
    return nil
  }
}

/// `--pmem`: one pmem mode, or both.
enum PmemChoice: String, CaseIterable, ExpressibleByArgument {
  case memmap, nvdimm, both
  var modes: [PmemMode] { self == .both ? PmemMode.allCases : [PmemMode(rawValue: rawValue)!] }
}

/// `--accel`: `auto` decides from the CPU and the loaded modules (`AccelChoice.auto`).
enum AccelOption: String, CaseIterable, ExpressibleByArgument {
  case auto, kvm, tcg
  var accel: Accel? { self == .auto ? nil : Accel(rawValue: rawValue) }
}
