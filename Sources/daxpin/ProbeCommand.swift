import ArgumentParser
import DaxPinCore
import DaxPinFake
import DaxPinLinux

/// `daxpin probe`: pin each memory kind through each interface and judge what the kernel did.
struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "probe",
    abstract: "Pin memory kinds through VFIO, iommufd and io_uring; judge the kernel's answers.",
    discussion: """
      Needs root. Read-only towards the host: files are created only in a private temporary
      directory (mkdtemp) under the page-cache, tmpfs and DAX directories, devdax is mapped but
      never written, no device is rebound, and everything is released on exit, SIGINT and SIGTERM
      included. Exit status: 0 every probe passed (skips allowed), 1 a probe failed, 2 the tool
      failed, 4 nothing could be exercised, 64 usage; with --format ktap, kselftest's: 0 pass,
      1 fail or error, 4 skip.

      Examples:
        daxpin probe                               every interface and memory kind on this host
        daxpin probe --quiet                       only what did not pass
        daxpin probe --interface io_uring --json   io_uring only, as the JSON report
        daxpin probe --format junit > junit.xml    JUnit XML for CI (or --format ktap)
        daxpin probe --fsdax-dir /mnt/pmem --devdax /dev/dax0.0 --vfio-group 7
        daxpin probe --backend fake --profile linux-4.14   what UNSAFE looks like (simulated)
      """)

  @Option(help: ArgumentHelp("linux (real syscalls, needs root) or fake (a simulated kernel; any user).", valueName: "BACKEND"))
  var backend: Backend = .linux

  @Option(help: ArgumentHelp("With --backend fake: linux-4.14, linux-5.10, linux-6.1 (default), linux-6.12, linux-latest or linux-7.3-iommufd.", valueName: "PROFILE"))
  var profile: KernelProfile?

  @Option(help: ArgumentHelp("With --backend fake: fsdax+devdax+vfio (default), devdax-only, no-pmem or no-vfio.", valueName: "NAME"))
  var topology: FakeTopology?

  @OptionGroup var output: OutputOptions

  @Flag(help: "Print only probes that did not pass.")
  var quiet = false

  @Option(name: .customLong("interface"), help: ArgumentHelp("Probe only this interface (repeatable).", valueName: "NAME"))
  var interfaces: [Interface] = []

  @Option(name: .customLong("kind"), help: ArgumentHelp("Probe only this memory kind (repeatable).", valueName: "KIND"))
  var kinds: [MemoryKind] = []

  @Option(name: .customLong("access"), help: ArgumentHelp("Probe only rw or ro (repeatable).", valueName: "ACCESS"))
  var accesses: [Access] = []

  @Option(help: ArgumentHelp("Directory on a disk-backed filesystem without DAX for the page-cache kinds (default /var/tmp).", valueName: "PATH"))
  var pagecacheDir: String?

  @Option(help: ArgumentHelp("Directory on an ext4 or xfs DAX mount (repeatable; default: DAX mounts found).", valueName: "PATH"))
  var fsdaxDir: [String] = []

  @Option(help: ArgumentHelp("Device-DAX character device to map (default: the first devdax device).", valueName: "/dev/daxX.Y"))
  var devdax: String?

  @Option(
    help: ArgumentHelp(
      "NUMA node of device-DAX memory onlined movable as System RAM (daxctl reconfigure-device --mode=system-ram), for devdax-kmem; daxpin never reconfigures a device.",
      valueName: "N"))
  var kmemNode: Int?

  @Option(help: ArgumentHelp("VFIO group already bound to vfio-pci (default: the first group under /dev/vfio).", valueName: "N"))
  var vfioGroup: Int?

  @Option(help: ArgumentHelp(
    "The name the report gives this host (default: the kernel's nodename, uname -n); a fleet gives each host its inventory name.",
    valueName: "NAME"))
  var hostname: String?

  @Option(help: ArgumentHelp("Send SIGINT to daxpin itself after N probes (tests the cleanup path).", visibility: .hidden))
  var interruptAfter: Int?

  /// The lab's guest asks for the probe and the contract's misuse answers in one process: under
  /// TCG each start of daxpin cost 0.2 s (dynamic linking and the Swift runtime's first type
  /// lookups), about what the misuse scenarios take.
  @Option(help: ArgumentHelp(
    "After the probe, also write the answers to the misuse scenarios, as `daxpin contract` prints them, to FILE (used by the lab).",
    valueName: "FILE", visibility: .hidden))
  var contractOutput: String?

  /// `--profile` and `--topology` describe the simulated kernel: without `--backend fake` they are
  /// a usage error, never ignored (a run meant as a simulation would probe the real kernel). A
  /// VFIO group is a number 0 or more (`/dev/vfio/N`).
  func validate() throws {
    if backend != .fake && (profile != nil || topology != nil) {
      throw ValidationError("--profile and --topology describe the simulated kernel: add --backend fake")
    }
    if let node = kmemNode, node < 0 {
      throw ValidationError("--kmem-node takes a NUMA node number, 0 or more (/sys/devices/system/node/nodeN)")
    }
    if let hostname {
      if backend == .fake { throw ValidationError("--hostname names a real host: the simulated kernel's reports are always daxpin-fake") }
      // A name in one line, as uname's nodename would be; the matrix caps host names at 256 bytes.
      guard !hostname.isEmpty, hostname.utf8.count <= 255, !hostname.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
      else { throw ValidationError("--hostname takes a name of 1 to 255 bytes without control characters") }
    }
    if let group = vfioGroup, group < 0 {
      throw ValidationError("--vfio-group takes a group number, 0 or more (/dev/vfio/N)")
    }
    if let contractOutput, let report = output.output, OutputFile.sameDestination(contractOutput, report) {
      throw ValidationError("--contract-output and --output name the same file (\(contractOutput)): the second write would replace the first")
    }
  }

  func run() throws {
    let host: any Host =
      backend == .fake ? FakeHost(FakeKernel(profile: profile ?? .linux6_1, topology: topology ?? .full)) : LinuxHost()
    let request = ProbeRequest(
      interfaces: interfaces, kinds: kinds, accesses: accesses, pagecacheDirectory: pagecacheDir, fsdaxDirectories: fsdaxDir,
      devdax: devdax, vfioGroup: vfioGroup, interruptAfter: interruptAfter, toolVersion: DaxpinVersion.string,
      kmemNode: kmemNode)
    if backend == .linux { LinuxKernel.catchInterrupts() }
    var run = ProbeRun(host: host, request: request)
    run.onNotice = { Stderr.line("daxpin: \($0)") }
    var report: Report
    do {
      report = try run.run()
    } catch {
      Stderr.line("daxpin: \(error)")
      if case .interrupted = error { LinuxKernel.reraiseInterrupt() }
      throw ExitCode(error.exitCode)
    }
    if let hostname { report.host.hostname = hostname }
    let contractFailure = contractOutput.flatMap { writeContract(host: host, to: $0) }
    do { try emit(report) } catch { throw contractFailure ?? error }
    if let contractFailure { throw contractFailure }
  }

  /// `--contract-output`: the misuse scenarios after the probe, on the same host, with the request
  /// `daxpin contract` makes; written as it prints them. A signal during them ends daxpin by that
  /// signal, as during the probe. A failure is said on stderr and returned: the report is still
  /// printed, then daxpin exits with it (2).
  func writeContract(host: any Host, to path: String) -> ExitCode? {
    let answers: MisuseAnswers
    do {
      answers = try ContractCommand.misuseAnswers(on: host)
    } catch {
      Stderr.line("daxpin: contract: \(error)")
      return ExitCode(error.exitCode)
    }
    if backend == .linux { LinuxKernel.reraiseInterrupt() }
    do {
      try OutputFile.write(try ReportJSON.encode(answers), to: path)
    } catch {
      Stderr.line("daxpin: --contract-output \(error)")
      return ExitCode(2)
    }
    return nil
  }

  /// Prints the report (--format), writes the JSON to --output, and exits with the format's exit code.
  func emit(_ report: Report) throws {
    let text = try ReportJSON.encode(report)
    try output.writeFile(text)
    try Stdout.write(output.format == .json ? text : try output.format.render(report, quiet: quiet, color: StandardOutput.isTerminal))
    let code = output.format.exitCode([report])
    if code != 0 { throw ExitCode(code) }
  }
}

extension Interface: ExpressibleByArgument {}
extension MemoryKind: ExpressibleByArgument {}
extension Access: ExpressibleByArgument {}
extension Backend: ExpressibleByArgument {}
extension KernelProfile: ExpressibleByArgument {}
extension FakeTopology: ExpressibleByArgument {}

