import ArgumentParser
import DaxPinCore
import DaxPinFake
import DaxPinLinux
import Glibc

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
      failed, 4 nothing could be exercised, 64 usage.

      Examples:
        daxpin probe                               every interface and memory kind on this host
        daxpin probe --quiet                       only what did not pass
        daxpin probe --interface io_uring --json   io_uring only, as the JSON report
        daxpin probe --fsdax-dir /mnt/pmem --devdax /dev/dax0.0 --vfio-group 7
        daxpin probe --backend fake --profile linux-4.14   what UNSAFE looks like (simulated)
      """)

  @Option(help: ArgumentHelp("linux (real syscalls, needs root) or fake (a simulated kernel; any user).", valueName: "BACKEND"))
  var backend: String = "linux"

  @Option(help: ArgumentHelp("With --backend fake: linux-4.14, linux-5.10, linux-6.1, linux-6.12, linux-latest or linux-7.3-iommufd.", valueName: "PROFILE"))
  var profile: String = "linux-6.1"

  @Option(help: ArgumentHelp("With --backend fake: fsdax+devdax+vfio, devdax-only, no-pmem or no-vfio.", valueName: "NAME"))
  var topology: String = "fsdax+devdax+vfio"

  func validate() throws {
    guard backend == "linux" || backend == "fake" else { throw ValidationError("--backend takes linux or fake") }
    guard KernelProfile(rawValue: profile) != nil else {
      throw ValidationError("unknown profile \(profile): \(KernelProfile.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard FakeTopology(rawValue: topology) != nil else {
      throw ValidationError("unknown topology \(topology): \(FakeTopology.allCases.map(\.rawValue).joined(separator: ", "))")
    }
  }

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

  @Option(help: ArgumentHelp("VFIO group already bound to vfio-pci (default: the first group under /dev/vfio).", valueName: "N"))
  var vfioGroup: Int?

  @Option(help: ArgumentHelp("Send SIGINT to daxpin itself after N probes (tests the cleanup path).", visibility: .hidden))
  var interruptAfter: Int?

  func run() throws {
    if backend == "fake" { return try runFake() }
    guard getuid() == 0 else {
      throw Exit.toolFailure("probe needs root: it opens VFIO groups, /dev/iommu and /dev/dax and pins memory (run: sudo daxpin probe)")
    }
    LinuxKernel.catchInterrupts()
    let inventory = LinuxInventory().collect()
    let options = ProbeOptions(pagecacheDirectory: pagecacheDir, fsdaxDirectories: fsdaxDir, devdax: devdax, vfioGroup: vfioGroup)
    let kernel = LinuxKernel()
    var overrides: [String: String] = [:]
    for dir in fsdaxDir {
      switch kernel.filesystem(dir) {
      case .success(.ext4): overrides["ext4"] = dir
      case .success(.xfs): overrides["xfs"] = dir
      case .success(let other): throw Exit.toolFailure("--fsdax-dir \(dir) is on \(other), not ext4 or xfs")
      case .failure(let e): throw Exit.toolFailure("--fsdax-dir \(dir): \(e.name)")
      }
    }
    if let dir = pagecacheDir {
      switch kernel.status(dir) {
      case .success(let st) where st.type == .directory: break
      case .success: throw Exit.toolFailure("--pagecache-dir \(dir) is not a directory")
      case .failure(let e): throw Exit.toolFailure("--pagecache-dir \(dir): \(e.name)")
      }
    }
    if let devdax, case .failure(let e) = kernel.status(devdax) {
      throw Exit.toolFailure("--devdax \(devdax): \(e.name)")
    }
    let targets = ProbeTargets.resolve(inventory: inventory, options: options, fsdaxOverrides: overrides)
    var engine = ProbeEngine(
      kernel: kernel, targets: targets, features: KernelFeatures(inventory.kernel),
      interfaces: interfaces.isEmpty ? Interface.allCases : interfaces,
      kinds: kinds.isEmpty ? MemoryKind.allCases : kinds, accesses: accesses.isEmpty ? Access.allCases : accesses,
      clock: MonotonicClock.microseconds)
    var done = 0
    let interruptAfter = self.interruptAfter
    engine.onResult = { _ in
      done += 1
      if let n = interruptAfter, done == n { raise(SIGINT) }
    }

    let results: [ProbeResult]
    do {
      results = try engine.run()
    } catch {
      let sig = LinuxKernel.caughtSignal
      Stderr.line(
        "daxpin: interrupted by signal \(sig) after \(error.completed.count) probes; everything mapped, registered, opened or created was released")
      LinuxKernel.reraiseInterrupt()
      throw ExitCode(128 + sig)
    }
    let report = Report(toolVersion: DaxpinVersion.string, backend: "linux", host: Report.Host.current, inventory: inventory, probes: results)
    try emit(report)
  }
}

extension ProbeCommand {
  /// Prints the report (text or JSON), writes --output, and exits with the report's exit code.
  func emit(_ report: Report) throws {
    let text = try ReportJSON.encode(report)
    try output.writeFile(text)
    try Stdout.write(output.json ? text : ProbeText.render(report, quiet: quiet, color: StandardOutput.isTerminal))
    if report.summary.exitCode != 0 { throw ExitCode(report.summary.exitCode) }
  }

  /// The same probe against a simulated kernel: any user, nothing touched, labelled simulated.
  func runFake() throws {
    let fake = FakeKernel(profile: KernelProfile(rawValue: profile)!, topology: FakeTopology(rawValue: topology)!)
    let report = fake.probeReport(
      toolVersion: DaxpinVersion.string,
      options: ProbeOptions(pagecacheDirectory: pagecacheDir ?? "/mnt/pagecache", devdax: devdax, vfioGroup: vfioGroup),
      interfaces: interfaces.isEmpty ? Interface.allCases : interfaces, kinds: kinds.isEmpty ? MemoryKind.allCases : kinds,
      accesses: accesses.isEmpty ? Access.allCases : accesses)
    try emit(report)
  }
}

extension Interface: ExpressibleByArgument {}
extension MemoryKind: ExpressibleByArgument {}
extension Access: ExpressibleByArgument {}

extension Report.Host {
  static var current: Report.Host {
    var u = utsname()
    uname(&u)
    func field<T>(_ t: T) -> String { withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
    return Report.Host(hostname: field(u.nodename), arch: field(u.machine))
  }
}
