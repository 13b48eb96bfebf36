import DaxPinLinux
import FoundationEssentials
import Glibc

/// Builds a kernel from Debian's `linux-source-<version>` with the lab configuration: everything
/// built in (no modules), including what Debian leaves out — IOMMUFD and VFIO_DEVICE_CDEV — and
/// the kernel's own test hooks (IOMMUFD_TEST, GUP_TEST). Measured: about 25 minutes on this
/// machine class (2 cores) for 7.3; cached afterwards.
struct SourceKernelBuilder {
  let cacheDirectory: String
  let log: @Sendable (String) -> Void
  /// Where the download's and the build's progress goes.
  var progress: ProgressSink? = nil

  /// Options switched on over `make defconfig`.
  static let labOptions = [
    "IOMMUFD", "IOMMUFD_TEST", "VFIO", "VFIO_DEVICE_CDEV", "VFIO_PCI", "VFIO_IOMMU_TYPE1", "VFIO_CONTAINER",
    "IOMMUFD_VFIO_CONTAINER", "INTEL_IOMMU", "INTEL_IOMMU_SVM", "IRQ_REMAP", "LIBNVDIMM", "ACPI_NFIT", "X86_PMEM_LEGACY",
    "BLK_DEV_PMEM", "NVDIMM_PFN", "NVDIMM_DAX", "DEV_DAX", "DEV_DAX_PMEM", "FS_DAX", "ZONE_DEVICE", "MEMORY_HOTPLUG",
    "MEMORY_HOTREMOVE", "SPARSEMEM_VMEMMAP", "TRANSPARENT_HUGEPAGE", "HUGETLBFS", "EXT4_FS", "XFS_FS", "IO_URING",
    "GUP_TEST", "DEBUG_FS", "DEBUG_KERNEL", "FAULT_INJECTION", "ND_BTT", "TMPFS", "BLK_DEV_INITRD", "SERIAL_8250_CONSOLE", "BLK_DEV_RAM", "CRYPTO_CRC32C", "IKCONFIG", "IKCONFIG_PROC", "DEVTMPFS",
  ]

  func build(version: String, refresh: Bool) throws(LabError) -> KernelTree {
    let fm = FileManager.default
    let base = "\(cacheDirectory)/kernels/source-\(version)"
    if !refresh, fm.fileExists(atPath: base + "/complete") {
      log("cached")
      return try KernelTree.locate(label: "source-\(version)", version: version, root: base + "/build")
    }
    var repo = AptRepository(directory: cacheDirectory + "/apt", mirror: try AptRepository.machineMirror(), log: log)
    repo.progress = progress
    try repo.update()
    let package = "linux-source-\(version)"
    guard let newest = try repo.versions(of: package).first else {
      throw .setup("no \(package) in \(DebianKernel.allSuites.joined(separator: ", ")) through the mirror")
    }
    HostProcess.removeTree(base)
    try? fm.createDirectory(atPath: base + "/debs", withIntermediateDirectories: true)
    let deb = try repo.download(package, version: newest.version, into: base + "/debs")
    try sh("dpkg-deb -x '\(deb)' '\(base)/pkg'", "extract \(package)")
    try sh(
      "mkdir -p '\(base)/build' && tar -C '\(base)/build' --strip-components=1 -xf \"$(ls '\(base)'/pkg/usr/src/linux-source-*.tar.*)\"",
      "unpack the source tarball")
    let enable = Self.labOptions.map { "-e \($0)" }.joined(separator: " ")
    try sh(
      "cd '\(base)/build' && make -s defconfig && scripts/config --disable MODULES \(enable) && make -s olddefconfig",
      "configure")
    log("building bzImage (\(newest.version)); this takes about 25 minutes on 2 cores")
    try make(tree: base + "/build", objectsFile: base + "/objects")
    HostProcess.removeTree(base + "/pkg")
    HostProcess.removeTree(base + "/debs")
    _ = fm.createFile(atPath: base + "/complete", contents: Data())
    return try KernelTree.locate(label: "source-\(version)", version: version, root: base + "/build")
  }

  /// `make bzImage` with kbuild's short lines (`  CC  kernel/fork.o`) going to a file the
  /// builder follows, counting objects against `KbuildProgress.estimateObjects` (or the count a
  /// previous build of this version left in `objectsFile`).
  func make(tree: String, objectsFile: String, poll: Double = 0.5) throws(LabError) {
    let output = tree + "/.daxpin-make.log"
    unlink(output)
    let known = HostProcess.readFile(objectsFile).flatMap { Int($0.trimmingCharacters(in: "\n ")) }
    let expected = known ?? KbuildProgress.estimateObjects(tree: tree)
    let pid: pid_t
    do {
      pid = try HostProcess.spawn(["sh", "-c", "exec make -j$(nproc) bzImage"], stdout: output, stderr: output, workingDirectory: tree)
    } catch {
      throw .setup("\(error)")
    }
    let exit = Self.follow(pid: pid, output: output, expected: expected, progress: progress ?? .lines(log), poll: poll)
    guard exit.succeeded else {
      let tail = (HostProcess.readFile(output) ?? "").split(separator: "\n").suffix(20).joined(separator: "\n")
      throw .setup("make bzImage failed:\n\(tail)")
    }
    var counted = KbuildProgress(expected: 1, start: 0)
    counted.consume(text: HostProcess.readFile(output) ?? "")
    try? Data("\(counted.compiled)\n".utf8).write(to: URL(fileURLWithPath: objectsFile))
  }

  /// Waits for a build, feeding its output to a `KbuildProgress` and the summary to `progress`.
  static func follow(pid: pid_t, output: String, expected: Int, progress: ProgressSink, poll: Double) -> HostProcess.Exit {
    var state = KbuildProgress(expected: expected, start: MonotonicClock.seconds())
    let follower = FileFollower(output)
    let throttle = progress.step()
    while true {
      let exit = HostProcess.poll(pid)
      let now = MonotonicClock.seconds()
      for line in follower.poll(now: now, flush: exit != nil) { state.consume(Substring(line)) }
      if let exit {
        if exit.succeeded { progress.line("built: \(state.summary(now: now))") }
        return exit
      }
      throttle.update("building bzImage: \(state.summary(now: now))", now: now)
      usleep(useconds_t(poll * 1e6))
    }
  }

  private func sh(_ script: String, _ what: String) throws(LabError) {
    let r = try? HostProcess.run(["sh", "-c", "set -e; " + script])
    guard r?.exit.succeeded == true else { throw .setup("\(what) failed: \((r?.stderr ?? "").suffix(800))") }
  }
}
