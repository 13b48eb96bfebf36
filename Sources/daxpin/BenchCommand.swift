import ArgumentParser
import DaxPinCore
import DaxPinFake
import DaxPinLinux

/// `daxpin bench`: how long the kernel takes to pin and unpin, per interface and memory.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time long-term pins and unpins (io_uring, VFIO type1v2, iommufd) per memory kind.",
    discussion: """
      Needs root. For each interface and memory kind (anon-4k, thp, hugetlb-2m, memfd, devdax)
      one buffer is mapped, advised (MADV_NOHUGEPAGE, MADV_HUGEPAGE), faulted in and confirmed
      from smaps; one untimed round checks the pin accounting; then --iterations rounds time
      exactly the pin call (IORING_REGISTER_BUFFERS, VFIO_IOMMU_MAP_DMA, IOMMU_IOAS_MAP) and the
      unpin call. The size is reduced where the host has less (MemAvailable / 2, the free 2 MiB
      hugetlb pages, the device-DAX size, RLIMIT_MEMLOCK without CAP_IPC_LOCK) and the table says
      so. Every round must unpin every byte; everything is released on exit, SIGINT and SIGTERM
      included. Device-DAX is read-faulted, never written. Exit status: 0 measured (skips
      allowed), 1 a cell failed, 2 the tool failed, 4 nothing could be measured, 64 usage.

      Examples:
        sudo daxpin bench                                   every interface and memory, 1 GiB
        sudo daxpin bench --interface io_uring --memory thp --size 256M --json
        sudo daxpin bench --devdax /dev/dax0.0 --vfio-group 7 --iterations 50
      """)

  @Option(help: ArgumentHelp("linux (real syscalls, needs root) or fake (a simulated kernel; the figures are not a kernel's).", valueName: "BACKEND"))
  var backend: Backend = .linux

  @Option(help: ArgumentHelp("With --backend fake: the kernel profile (default linux-6.1).", valueName: "PROFILE"))
  var profile: KernelProfile?

  @Option(name: .customLong("interface"), help: ArgumentHelp("io_uring, vfio-type1v2 or iommufd (repeatable; default all three).", valueName: "NAME"))
  var interfaces: [Interface] = []

  @Option(name: .customLong("memory"), help: ArgumentHelp("anon-4k, thp, hugetlb-2m, memfd or devdax (repeatable; default all).", valueName: "KIND"))
  var memories: [BenchMemory] = []

  @Option(help: ArgumentHelp("Bytes per buffer: a number with K, M, G or T (powers of 1024); default 1G.", valueName: "SIZE"))
  var size: String = "1G"

  @Option(help: ArgumentHelp("Timed pin + unpin rounds per cell.", valueName: "N"))
  var iterations: Int = BenchRequest.defaultIterations

  @Option(help: ArgumentHelp("Device-DAX character device (default: the first devdax device).", valueName: "/dev/daxX.Y"))
  var devdax: String?

  @Option(help: ArgumentHelp("VFIO group already bound to vfio-pci (default: the first group under /dev/vfio).", valueName: "N"))
  var vfioGroup: Int?

  @Flag(help: "Print the JSON document instead of the table.")
  var json = false

  @Option(help: ArgumentHelp("Also write the JSON document to FILE (replaced atomically).", valueName: "FILE"))
  var output: String?

  @Option(help: ArgumentHelp("Send SIGINT to daxpin itself after N timed rounds (tests the cleanup path).", visibility: .hidden))
  var interruptAfter: Int?

  func validate() throws {
    if backend != .fake && profile != nil { throw ValidationError("--profile describes the simulated kernel: add --backend fake") }
    for i in interfaces where !BenchMemory.interfaces.contains(i) {
      throw ValidationError("bench times io_uring, vfio-type1v2 and iommufd, not \(i.rawValue)")
    }
    guard let bytes = ByteSizeArgument.parse(size), bytes > 0 else {
      throw ValidationError("--size takes a positive number of bytes with an optional K, M, G or T (1G, 512M), not '\(size)'")
    }
    _ = bytes
    guard iterations >= 1 && iterations <= 1_000_000 else { throw ValidationError("--iterations takes 1 to 1000000") }
    if let group = vfioGroup, group < 0 { throw ValidationError("--vfio-group takes a group number, 0 or more (/dev/vfio/N)") }
  }

  func run() throws {
    let host: any Host = backend == .fake ? FakeHost(FakeKernel(profile: profile ?? .linux6_1)) : LinuxHost()
    let request = BenchRequest(
      interfaces: interfaces, memories: memories, size: ByteSizeArgument.parse(size) ?? BenchRequest.defaultSize, iterations: iterations,
      devdax: devdax, vfioGroup: vfioGroup, toolVersion: DaxpinVersion.string, interruptAfter: interruptAfter)
    if backend == .linux { LinuxKernel.catchInterrupts() }
    var run = BenchRun(host: host, request: request)
    // A progress line only for a person at a terminal reading the table (in a lab guest the
    // console is a terminal, and the JSON goes between markers that must start their lines).
    let tty = StandardError.isTerminal && !json
    if tty {
      run.onResult = { r in
        if tty { Stderr.status("bench: \(r.interface.rawValue).\(r.memory.rawValue) \(r.status.rawValue)") }
      }
    }
    let report: BenchReport
    do {
      report = try run.run()
    } catch {
      if tty { Stderr.status("") }
      if case .interrupted(let signal, let completed) = error {
        Stderr.line("daxpin: interrupted by signal \(signal) after \(completed) bench cells; everything mapped, pinned or opened was released")
        LinuxKernel.reraiseInterrupt()
      } else {
        Stderr.line("daxpin: \(error)")
      }
      throw ExitCode(error.exitCode)
    }
    if tty { Stderr.status("") }
    let text = try ReportJSON.encode(report)
    if let output {
      do { try OutputFile.write(text, to: output) } catch { throw Exit.toolFailure("--output \(error)") }
    }
    try Stdout.write(json ? text : BenchText.render(report))
    if report.summary.exitCode != 0 { throw ExitCode(report.summary.exitCode) }
  }
}

/// `--size`: `1G`, `512M`, `4096`, `2m` — powers of 1024.
enum ByteSizeArgument {
  static func parse(_ s: String) -> Int? {
    var digits = Substring(s)
    var shift = 0
    if let last = digits.last, let unit = ["k": 10, "m": 20, "g": 30, "t": 40][last.lowercased()] {
      shift = unit
      digits = digits.dropLast()
      if digits.last == "i" || digits.last == "I" { return nil }
    }
    guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int(digits), n >= 0, n <= Int.max >> shift else { return nil }
    return n << shift
  }
}

extension BenchMemory: ExpressibleByArgument {}
