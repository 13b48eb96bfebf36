import ArgumentParser
import DaxPinBuildInfo
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
        daxpin lab --kernel debian-6.12 --pmem all              memmap, nvdimm, virtio-pmem, cxl
        daxpin lab --kernel ~/linux/arch/x86/boot/bzImage --accel tcg
        daxpin lab --exec 'daxpin check qemu --probe -- -m 512M -object memory-backend-file,id=m,size=512M,mem-path=$DAXPIN_LAB_FSDAX_EXT4/g,share=on -machine memory-backend=m -device vfio-pci,host=$DAXPIN_LAB_VFIO_DEVICE'

      --exec runs COMMAND with sh in each guest after the probe, with DAXPIN_LAB_FSDAX_EXT4,
      DAXPIN_LAB_FSDAX_XFS (DAX mount points), DAXPIN_LAB_DEVDAX (the device-DAX device),
      DAXPIN_LAB_PAGECACHE (a disk-backed non-DAX directory), DAXPIN_LAB_VFIO_DEVICE (the PCI
      address bound to vfio-pci), DAXPIN_LAB_KERNEL and DAXPIN_LAB_PMEM set and daxpin on its
      PATH. Its output (stdout and stderr, the first 1 MiB) lands in OUT/<kernel>-<pmem>.exec.out
      and its exit status in the summary; a command that fails, or is still running when the
      --timeout (less up to 30 s to bring its output back) runs out, makes the lab exit 1.
      """)

  @Option(name: .customLong("kernel"), help: ArgumentHelp(
    "debian-5.10, debian-6.1, debian-6.12, debian-latest, source:<version>, or a path (repeatable).", valueName: "KERNEL"))
  var kernels: [String] = ["debian-6.1"]

  @Option(help: ArgumentHelp(
    "memmap, nvdimm, both (memmap and nvdimm), virtio-pmem, cxl, or all (every mode); repeatable.", valueName: "MODE"))
  var pmem: [PmemChoice] = [.both]

  @Option(help: ArgumentHelp("auto, kvm or tcg. auto uses KVM only where the CPU has vmx/svm and kvm_intel/kvm_amd is loaded.", valueName: "ACCEL"))
  var accel: AccelOption = .auto

  @Option(name: .customLong("out"), help: ArgumentHelp("Directory for reports, consoles and the matrix (made if missing; it and every directory above it must be root's or yours and not writable by others).", valueName: "OUT"))
  var outputDirectory: String = "lab-out"

  @Option(help: ArgumentHelp(
    "Cache for the private apt state, kernels and initramfs (default: $XDG_CACHE_HOME/daxpin, else /var/cache/daxpin for root; checked like --out).",
    valueName: "DIR"))
  var cache: String?

  @Option(help: ArgumentHelp("Seconds before a boot counts as hung.", valueName: "SECONDS"))
  var timeout: Double = 300

  @Option(help: ArgumentHelp(
    "Guests booted at once (default: the number of cores; each TCG guest uses one).", valueName: "N"))
  var jobs: Int = LabOptions.cores

  @Flag(help: "Print where each run's seconds went (QEMU, firmware, kernel, modules, namespaces, mkfs, probe, contract, shutdown) and put it in the reports.")
  var timings = false

  @Option(help: ArgumentHelp(
    "A shell command to run in each guest after the probe, with the guest's objects in DAXPIN_LAB_* variables (see below).",
    valueName: "COMMAND"))
  var exec: String?

  @Flag(help: ArgumentHelp(
    "Hold `daxpin check qemu --probe` to each guest's kernel: QEMU command lines with guest RAM on ext4-DAX (share=on, share=off), xfs-DAX, device-DAX (align=2M, none), a page-cache file (share=on, share=off) and memfd, each with a vfio-pci device; fails on any difference from the kernel. Writes OUT/check-vm.md."))
  var checkVM = false

  @Flag(help: "After the probe, run `daxpin bench` in each guest (VFIO type1v2 and io_uring; 64 MiB, 10 rounds) and its C twin bench/pinbench.c; results in OUT/<kernel>-<pmem>-bench.json and -pinbench.jsonl. Under TCG the figures are an emulated CPU's, not a machine's.")
  var bench = false

  @Flag(help: "Fetch kernels again even when cached.")
  var refresh = false

  @Flag(help: "Fail unless the lab's core facts hold: vfio-type1v2 and io_uring refuse fsdax-{ext4,xfs}-shared.rw with EOPNOTSUPP, vfio-type1v2 pins devdax.rw (and devdax-kmem.rw, frames read, where the guest has a kmem region), every cell has a verdict, and every profile equals its kernel. The exit status then follows these checks: a FAIL verdict the profile agrees with (5.10's devdax-kmem) is the kernel's answer.")
  var check = false

  func run() throws {
    let specs: [LabKernelSpec]
    do { specs = try kernels.map { s throws(LabError) in try LabKernelSpec(parsing: s) } } catch { throw ValidationError("\(error)") }
    guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    let modes = PmemChoice.modes(pmem)
    let accelChoice = accel.accel
    guard LinuxHost().privileged else { throw Exit.toolFailure("lab needs root: it runs apt-get download and depmod into its cache (run: sudo daxpin lab)") }
    let cacheDirectory = cache ?? LabInstallation.defaultCacheDirectory()
    if checkVM && exec != nil { throw ValidationError("--check-vm runs its own command in the guests: it cannot go with --exec") }
    // Root writes into both by path (and QEMU opens the consoles there): no other user may be
    // able to swap a name in them or on the way to them.
    // Both are checked before either is created, so a refusal leaves nothing behind.
    for missing in [TrustedDirectory.Missing.allowed, .create] {
      for (option, path) in [("--cache", cacheDirectory), ("--out", outputDirectory)] {
        do { try TrustedDirectory.check(path, missing: missing) } catch { throw Exit.toolFailure("\(option) \(error)") }
      }
    }
    let initScript: String
    let execRunner: String
    do {
      initScript = try LabInstallation.guestScript("init", contents: BuildInfo.guestInit, cacheDirectory: cacheDirectory)
      execRunner = try LabInstallation.guestScript("exec", contents: BuildInfo.guestExec, cacheDirectory: cacheDirectory)
    } catch {
      throw Exit.toolFailure("\(error)")
    }
    let options = LabOptions(
      kernels: specs, pmem: modes, accel: accelChoice, outputDirectory: outputDirectory,
      cacheDirectory: cacheDirectory,
      timeoutSeconds: timeout, refresh: refresh, daxpinBinary: LabInstallation.selfPath(), initScript: initScript, jobs: jobs,
      timings: timings)
    // Ctrl-C, SIGTERM, SIGHUP: the guests' QEMUs (and any apt-get or make) lead process groups of
    // their own, so the lab stops them and removes its scratch directories before it exits by
    // the signal.
    let stops = LabInterrupts.stopChildrenOnSignal { Stderr.line($0) }
    defer { stops.cancel() }
    var labOptions = options
    if let exec = checkVM ? LabCheckVM.script : exec {
      // Written (or found equal) beside the guest's init just above: guestScript throws otherwise.
      labOptions.exec = LabExec(command: RawPath.bytes(exec), runner: execRunner)
    }
    let tty = StandardError.isTerminal
    labOptions.interactive = tty
    labOptions.bench = bench
    if bench {
      // bench/pinbench.c, compiled into this binary, written beside the guest's init.
      do {
        labOptions.pinbenchSource = try LabInstallation.guestScript("pinbench.c", contents: BuildInfo.pinbenchSource, cacheDirectory: cacheDirectory)
      } catch {
        throw Exit.toolFailure("\(error)")
      }
    }
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
    for run in runs where bench {
      guard let b = run.bench else {
        if run.report != nil { say("\n\(run.kernel)-\(run.pmem.rawValue): bench: \(run.benchError ?? "no result")") }
        continue
      }
      say("\n\(run.kernel)-\(run.pmem.rawValue) bench (under \(run.report?.lab?.accel ?? "?")):")
      say(BenchText.render(b), terminator: "")
      if !run.pinbench.isEmpty { say("daxpin against its C twin (pinbench):\n" + LabBench.comparison(b, run.pinbench), terminator: "") }
    }
    say(LabSummary.table(runs), terminator: "")
    if timings { say(LabSummary.timings(runs), terminator: "") }
    let reports = runs.compactMap(\.report)
    var writeFailed = false
    if !reports.isEmpty {
      let matrix = try Matrix(reports: reports)
      do {
        let notRun = LabSummary.notRun(runs)
        let markdown = matrix.markdown() + (notRun.isEmpty ? "" : "\nNot run (the kernel lacks the pmem mode's drivers):\n\n" + notRun.map { "- \($0)\n" }.joined())
        try OutputFile.write(markdown, to: outputDirectory + "/matrix.md")
        try OutputFile.write(try matrix.jsonLines(), to: outputDirectory + "/matrix.jsonl")
        say("matrix: \(outputDirectory)/matrix.md, \(outputDirectory)/matrix.jsonl")
      } catch {
        Stderr.line("daxpin: \(error)")
        writeFailed = true
      }
    }
    for run in runs {
      guard let e = run.exec else { continue }
      say("\(run.kernel)-\(run.pmem.rawValue): \(e.line)")
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
    // --check-vm's cases exit 1 where check predicts a refusal: the comparison judges them.
    let execFailed = !checkVM && runs.contains { $0.exec.map { !$0.succeeded } ?? false }
    var checkVMFailed = false
    if checkVM {
      let rows = LabCheckVM.rows(runs)
      let table = LabCheckVM.markdown(rows)
      say("\ncheck-vm: daxpin check qemu --probe against each guest's kernel\n" + table, terminator: "")
      do {
        try OutputFile.write(table, to: outputDirectory + "/check-vm.md")
      } catch {
        Stderr.line("daxpin: \(error)")
        writeFailed = true
      }
      let differ = rows.filter { !$0.agrees }
      for r in differ { Stderr.line("check-vm: \(r.run): \(r.name): \(r.problems.joined(separator: "; "))") }
      say(differ.isEmpty ? "check-vm: \(rows.count) cases, all equal to the kernel" : "check-vm: \(differ.count) of \(rows.count) cases differ")
      checkVMFailed = !differ.isEmpty || rows.isEmpty
    }
    // With --check the run is judged by the lab's core facts and the contract (LabCheck): a FAIL
    // verdict the profile agrees with is the kernel's real answer (Debian 5.10's devdax-kmem pins
    // stay in ZONE_MOVABLE), shown in the summary and the matrix, not a broken lab.
    let findingsFail = !check && reports.contains { $0.summary.fail > 0 }
    var code: Int32 =
      runs.contains { $0.error != nil || !$0.writeErrors.isEmpty } || writeFailed ? 2 : findingsFail || contractBroken || execFailed || checkVMFailed ? 1 : 0
    // Every run asked for is a pmem mode its kernel lacks: nothing was exercised (as `probe`'s 4).
    let nothingRan = !runs.isEmpty && runs.allSatisfy { $0.notSupported != nil }
    if nothingRan {
      Stderr.line("daxpin: lab: no run was booted: the kernels asked lack every pmem mode asked (see n/a above)")
      code = max(code, 4)
    }
    if check {
      let problems = LabCheck.problems(runs)
      for p in problems { Stderr.line("lab check: \(p)") }
      if !problems.isEmpty { code = max(code, 1) }
      if problems.isEmpty && !nothingRan { say("lab check: passed") }
    }
    try Stdout.write(out)
    if code != 0 { throw ExitCode(code) }
  }
}

/// `--pmem`: one pmem mode, both of the first two (memmap and nvdimm, the default), or all.
enum PmemChoice: String, CaseIterable, ExpressibleByArgument {
  case memmap, nvdimm, both
  case virtioPmem = "virtio-pmem"
  case cxl, all
  var modes: [PmemMode] {
    switch self {
    case .both: [.memmap, .nvdimm]
    case .all: PmemMode.allCases
    default: [PmemMode(rawValue: rawValue)!]
    }
  }
  /// Every mode the choices name, each once, in the order named.
  static func modes(_ choices: [PmemChoice]) -> [PmemMode] {
    var out: [PmemMode] = []
    for m in choices.flatMap(\.modes) where !out.contains(m) { out.append(m) }
    return out
  }
}

/// `--accel`: `auto` decides from the CPU and the loaded modules (`AccelChoice.auto`).
enum AccelOption: String, CaseIterable, ExpressibleByArgument {
  case auto, kvm, tcg
  var accel: Accel? { self == .auto ? nil : Accel(rawValue: rawValue) }
}
