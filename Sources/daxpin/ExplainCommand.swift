import ArgumentParser
import DaxPinCore
import DaxPinLinux

/// `daxpin explain`: name the cause of a failed long-term DMA pin from the error line a tool
/// printed. Matching and ranking are DaxPinCore's (`Explainer`); reading logs and the running
/// kernel's release are DaxPinLinux's. The command itself makes no syscall.
struct ExplainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Name the cause of a failed DMA pin from its error line (QEMU, libvirt, kata, cloud-hypervisor, SPDK, RDMA, io_uring, kernel).",
    discussion: """
      Each recognised line gets its causes ranked, each with the kernel rule, whether it holds \
      on this host's running kernel (or --kernel RELEASE, for a log from another host), the \
      fix, and the daxpin command that shows it. Causes: fsdax-longterm-pin, \
      file-writeback-pin, io_uring-file-backed, pfnmap-no-struct-page, memlock-limit, \
      dma-entry-limit, devdax-alignment, unknown. Inputs are read whole, at most 64 MiB each; \
      a line is matched by its first 64 KiB. Besides its inputs daxpin reads only the running \
      kernel's release, and asks the kernel nothing.

      Exit status: 0 at least one line recognised (the others are counted and the first named \
      on the last line; --all shows them), 4 no line recognised, 2 an input could not be \
      read, 64 usage.

      Examples:
        daxpin explain 'VFIO_MAP_DMA failed: Bad address'
        journalctl -u libvirtd | daxpin explain -
        daxpin explain --json --file /var/log/libvirt/qemu/vm1.log
        daxpin explain --kernel 6.1.0-28-amd64 --file from-another-host.log
      """)

  @OptionGroup var output: OutputOptions

  @Option(
    name: .customLong("file"),
    help: ArgumentHelp("Read error lines from a log file (repeatable; - for standard input; pipes such as <(...) work).", valueName: "FILE"))
  var files: [String] = []

  @Option(help: ArgumentHelp("Judge the lines against this kernel release instead of the running kernel's.", valueName: "RELEASE"))
  var kernel: String?

  @Flag(help: "Also show each line that was not recognised (text and JSON); otherwise they are counted and the first are named.")
  var all = false

  @Argument(help: ArgumentHelp("Error lines; - reads standard input.", valueName: "LINE"))
  var lines: [String] = []

  func validate() throws {
    if lines.isEmpty && files.isEmpty {
      throw ValidationError("give error lines as arguments, - for standard input, or --file FILE")
    }
    if let kernel, kernel.isEmpty || KernelVersion(release: kernel) == nil {
      throw ValidationError("--kernel needs a release such as 6.1.0-28-amd64\(kernel.isEmpty ? "" : ", not \(kernel.withVisibleControls)")")
    }
    if [.junit, .ktap].contains(output.format) {
      throw ValidationError("--format \(output.format.rawValue) is for probe reports; explain prints text or json")
    }
  }

  func run() throws {
    if let out = output.output, let same = OutputFile.input(files, sameAs: out) {
      throw Exit.toolFailure("explain: --output \(out.withVisibleControls) is the log \(same.withVisibleControls) being read; write the JSON to another file")
    }
    let release = kernel ?? LinuxInventory().kernelRelease()
    let version = KernelVersion(release: release)
    var session = ExplainSession(explainer: Explainer(kernel: version), keepUnrecognised: all)
    var readStandardInput = false
    func read(_ path: String) throws {
      if path == BoundedRead.standardInput {
        // Standard input can be read once; `-` given twice is the same input.
        guard !readStandardInput else { return }
        readStandardInput = true
      }
      switch LogInput.read(path) {
      case .success(let bytes): session.add(bytes, input: path)
      case .failure(.errno(let e)): throw Exit.toolFailure("explain: \(path.withVisibleControls): \(e.name)")
      case .failure(.tooLarge(let limit)):
        throw Exit.toolFailure("explain: \(path.withVisibleControls): larger than \(limit >> 20) MiB; give a narrower slice (journalctl --since …)")
      }
    }
    for (i, line) in lines.enumerated() {
      if line == BoundedRead.standardInput { try read(line) } else { session.add(argument: line, index: i + 1) }
    }
    for file in files { try read(file) }

    let report = session.report(
      kernel: .init(release: release, version: version?.description, from: kernel == nil ? "running" : "option"))
    // The JSON only where it is asked for: a long log's JSON is several times the log.
    if output.json || output.output != nil {
      let json = try ReportJSON.encode(report)
      try output.writeFile(json)
      if output.json { try Stdout.write(json) }
    }
    if !output.json {
      // Written as it is rendered, in pieces of about 64 KiB.
      var pending = ""
      try ExplainText.render(report, all: all) { piece in
        pending += piece
        if pending.utf8.count >= 64 << 10 {
          try Stdout.write(pending)
          pending = ""
        }
      }
      try Stdout.write(pending)
    }

    guard report.summary.exitCode == 0 else {
      // An argument that looks like a path was most likely meant as a log file.
      for line in lines where line.hasPrefix("/") && !line.contains(" ") {
        Stderr.line("daxpin: explain: \(line.withVisibleControls) was read as an error line; to read the file, use --file \(line.withVisibleControls)")
      }
      throw ExitCode(report.summary.exitCode)
    }
  }
}
