import ArgumentParser
import DaxPinCore
import DaxPinFake
import DaxPinLinux
import DaxPinXML

/// `daxpin check`: read a VM's configuration and say, for every memory region its VFIO (or
/// iommufd) memory listener will DMA-map, whether this host's kernel will pin it, and why. It
/// makes no calls of its own: files and /proc through `CheckInputs`, the kernel through the host.
struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Predict, from a VM's configuration, whether this kernel will pin each of its memory regions for DMA.",
    discussion: """
      Each region (guest RAM, NUMA nodes, DIMMs, NVDIMMs, virtio-mem, virtio-pmem) is classified
      on this host with the probe's own checks (statx, statfs, the device's sysfs), then judged
      by the rule table for this kernel and the interface the VM uses: the VFIO container
      (vfio-type1v2) by default, iommufd when the VM names it. A file not yet created is judged
      by its directory. Nothing is opened or created without --probe.

      Exit status: 0 every region will pin, 1 one will be refused (or cannot be predicted, or a
      probe contradicted the rule table), 2 the tool failed, 64 a malformed configuration.

      Examples:
        daxpin check qemu -- -m 4G -object memory-backend-file,id=m0,size=4G,mem-path=/var/tmp/vm.ram,share=on \\
                             -machine memory-backend=m0 -device vfio-pci,host=0000:00:03.0
        daxpin check qemu --pid $(pidof qemu-system-x86_64)
        virsh dumpxml guest | daxpin check libvirt -
        daxpin check cloud-hypervisor -- --memory size=0 --memory-zone id=m0,size=2G,file=/dev/dax0.0,shared=on
        sudo daxpin check libvirt guest.xml --probe      confirm each answer with a real pin here
      """,
    subcommands: [QEMU.self, Libvirt.self, CloudHypervisor.self])

  struct QEMU: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "qemu", abstract: "Check a QEMU command line (after --), or a running QEMU (--pid).")

    @Option(help: ArgumentHelp("A running QEMU: read /proc/PID/cmdline (and its RLIMIT_MEMLOCK).", valueName: "PID"))
    var pid: Int32?

    @OptionGroup var options: CheckOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("QEMU's arguments, after --.", valueName: "ARGS"))
    var arguments: [String] = []

    func validate() throws {
      if pid == nil && arguments.isEmpty { throw ValidationError("give QEMU's arguments after --, or --pid PID") }
      if pid != nil && !arguments.isEmpty { throw ValidationError("give QEMU's arguments after --, or --pid PID, not both") }
    }

    func run() throws {
      var limits: ProcessLimits?
      let argv: [String]
      if let pid {
        argv = try options.get("qemu", CheckInputs.commandLine(pid: pid))
        limits = options.backend == .linux ? CheckInputs.limits(pid: pid) : nil
      } else {
        argv = arguments
      }
      let config = try options.get("qemu", Result { () throws(CheckProblem) in try QEMUConfigReader.read(arguments: argv) })
      try options.check("qemu", config, limits: limits)
    }
  }

  struct Libvirt: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "libvirt", abstract: "Check libvirt domain XML, as `virsh dumpxml` prints it (- for standard input).")

    @OptionGroup var options: CheckOptions

    @Argument(help: ArgumentHelp("Domain XML file, or - for standard input.", valueName: "FILE"))
    var file: String

    @Option(help: ArgumentHelp("libvirt's qemu.conf, for memory_backing_dir and hugetlbfs_mount.", valueName: "FILE"))
    var qemuConf: String = LibvirtQEMUConf.path

    func run() throws {
      let bytes = try options.get("libvirt", CheckInputs.read(file))
      let (paths, note) = CheckInputs.libvirtPaths(conf: qemuConf)
      if let note { Stderr.line("daxpin: check libvirt: \(note)") }
      let config = try options.get(
        "libvirt",
        Result { () throws(CheckProblem) in try LibvirtDomainReader.read(try DomainXML.parse(bytes), paths: paths) })
      try options.check("libvirt", config, limits: nil)
    }
  }

  struct CloudHypervisor: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cloud-hypervisor", abstract: "Check a cloud-hypervisor command line (after --).")

    @OptionGroup var options: CheckOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("cloud-hypervisor's arguments, after --.", valueName: "ARGS"))
    var arguments: [String] = []

    func validate() throws {
      if arguments.isEmpty { throw ValidationError("give cloud-hypervisor's arguments after --") }
    }

    func run() throws {
      let config = try options.get("cloud-hypervisor", Result { () throws(CheckProblem) in try CloudHypervisorConfigReader.read(arguments: arguments) })
      try options.check("cloud-hypervisor", config, limits: nil)
    }
  }
}

/// What every `check` subcommand takes.
struct CheckOptions: ParsableArguments {
  @Flag(help: "Print JSON instead of text.")
  var json = false

  @Flag(help: "As root: confirm each prediction with the real probe on this host (a scratch file in the region's own directory; io_uring where the host has no device for the VM's interface).")
  var probe = false

  @Option(help: ArgumentHelp("linux (this host) or fake (a simulated kernel: its filesystem, devices and rules).", valueName: "BACKEND"))
  var backend: Backend = .linux

  @Option(help: ArgumentHelp("With --backend fake: linux-4.14, linux-5.10, linux-6.1, linux-6.12, linux-latest or linux-7.3-iommufd.", valueName: "PROFILE"))
  var profile: KernelProfile = .linux6_12

  @Option(help: ArgumentHelp("With --backend fake: fsdax+devdax+vfio, devdax-only, no-pmem or no-vfio.", valueName: "NAME"))
  var topology: FakeTopology = .full

  /// The value, or the problem as one line on stderr and its exit status.
  func get<T>(_ sub: String, _ r: Result<T, CheckProblem>) throws -> T {
    switch r {
    case .success(let v): return v
    case .failure(let e):
      Stderr.line("daxpin: check \(sub): \(e.description.withVisibleControls)")
      throw ExitCode(e.exitCode)
    }
  }

  /// Classifies, predicts (and probes), prints, and exits with the summary's status.
  func check(_ sub: String, _ config: VMConfig, limits: ProcessLimits?) throws {
    let host: any Host = backend == .fake ? FakeHost(FakeKernel(profile: profile, topology: topology)) : LinuxHost()
    if probe && backend == .linux { LinuxKernel.catchInterrupts() }
    let run = CheckRun(host: host, config: config, limits: limits, probe: probe, toolVersion: DaxpinVersion.string)
    let report: CheckReport
    do {
      report = try run.run()
    } catch {
      Stderr.line("daxpin: check \(sub): \(error)")
      if case .interrupted = error { LinuxKernel.reraiseInterrupt() }
      throw ExitCode(error.exitCode)
    }
    try Stdout.write(json ? try ReportJSON.encode(report) : CheckText.render(report, color: CheckInputs.standardOutputIsTerminal))
    if report.summary.exitCode != 0 { throw ExitCode(report.summary.exitCode) }
  }
}
