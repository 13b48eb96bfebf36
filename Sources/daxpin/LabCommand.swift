import ArgumentParser
import DaxPinCore
import DaxPinLab
import DaxPinLinux
import FoundationEssentials

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
    guard LinuxHost().privileged else { throw Exit.toolFailure("lab needs root: it runs apt-get download and depmod into its cache (run: sudo daxpin lab)") }
    guard let initScript = LabInstallation.initScript() else {
      throw Exit.toolFailure("cannot find scripts/lab/init next to the daxpin binary: run daxpin from its source checkout")
    }
    let options = LabOptions(
      kernels: specs, pmem: modes, accel: accelChoice, outputDirectory: outputDirectory,
      cacheDirectory: cache ?? LabInstallation.defaultCacheDirectory(),
      timeoutSeconds: timeout, refresh: refresh, daxpinBinary: LabInstallation.selfPath(), initScript: initScript, jobs: jobs,
      timings: timings)
    // Ctrl-C, SIGTERM, SIGHUP: the guests' QEMUs (and any apt-get or make) lead process groups of
    // their own, so the lab stops them and removes its scratch directories before it exits by
    // the signal.
    let stops = LabInterrupts.stopChildrenOnSignal { Stderr.line($0) }
    defer { stops.cancel() }
    var labOptions = options
    let tty = StandardError.isTerminal
    labOptions.interactive = tty
    let start = MonotonicClock.seconds()
    // On a terminal a status line (a kernel build's progress) is redrawn in place; every other
    // line first clears it.
    let lab = Lab(
      options: labOptions, progress: { Stderr.line((tty ? "\r\u{1B}[K" : "") + "lab: \($0)") },
      status: { Stderr.status("lab: \($0)") })
    let runs = lab.run()

    // Everything for standard output is gathered and written once, checked (`Stdout`).
    var out = ""
    func say(_ line: String, terminator: String = "\n") { out += line + terminator }
    for run in runs {
      guard let report = run.report else { continue }
      say("\n\(run.kernel)-\(run.pmem.rawValue) (\(report.kernel.release)): DAX verdicts")
      for p in report.probes where p.access == .rw && (p.memory.kind.isFilesystemDAX || p.memory.kind == .devdax)
        && (p.interface == .vfioType1v2 || p.interface == .ioUring || p.interface == .iommufd) && p.outcome != .unsupported
      {
        say(ProbeText.line(p, color: StandardOutput.isTerminal))
      }
      for p in report.probes where (p.memory.kind == .devdaxKmem || p.interface == .truncateHeld) && p.access == .rw && p.outcome != .unsupported {
        say(ProbeText.line(p, color: StandardOutput.isTerminal))
      }
    }
    say(LabSummary.table(runs), terminator: "")
    if timings { say(LabSummary.timings(runs), terminator: "") }
    let reports = runs.compactMap(\.report)
    var matrixFailed = false
    if !reports.isEmpty {
      let matrix = try Matrix(reports: reports)
      do {
        try OutputFile.write(matrix.markdown(), to: outputDirectory + "/matrix.md")
        try OutputFile.write(try matrix.jsonLines(), to: outputDirectory + "/matrix.jsonl")
        say("matrix: \(outputDirectory)/matrix.md, \(outputDirectory)/matrix.jsonl")
      } catch {
        Stderr.line("daxpin: \(error)")
        matrixFailed = true
      }
    }
    for run in runs where run.error != nil {
      say("\n\(run.kernel)-\(run.pmem.rawValue): \(run.error!)")
      if let tail = run.consoleTail { say("--- console tail ---\n\(tail)\n---") }
    }
    say("lab: \(runs.count) runs in \(fmt(MonotonicClock.seconds() - start)) s")
    for run in runs where !(run.contract ?? []).isEmpty {
      say("\n\(run.kernel)-\(run.pmem.rawValue) disagrees with profile \(run.profile!):")
      run.contract!.forEach { say("  \($0)") }
    }
    let contractBroken = runs.contains { !($0.contract ?? []).isEmpty }
    var code: Int32 = runs.contains { $0.error != nil } || matrixFailed ? 2 : reports.contains { $0.summary.fail > 0 } || contractBroken ? 1 : 0
    if check {
      let problems = LabCheck.problems(runs)
      for p in problems { Stderr.line("lab check: \(p)") }
      if !problems.isEmpty { code = max(code, 1) }
      if problems.isEmpty { say("lab check: passed") }
    }
    try Stdout.write(out)
    if code != 0 { throw ExitCode(code) }
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
