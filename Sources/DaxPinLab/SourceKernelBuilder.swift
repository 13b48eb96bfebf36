import DaxPinLinux
import FoundationEssentials

/// Builds a kernel from Debian's `linux-source-<version>` with the lab configuration: everything
/// built in (no modules), including what Debian leaves out — IOMMUFD and VFIO_DEVICE_CDEV — and
/// the kernel's own test hooks (IOMMUFD_TEST, GUP_TEST). Measured: about 25 minutes on this
/// machine class (2 cores) for 7.3; cached afterwards.
struct SourceKernelBuilder {
  let cacheDirectory: String
  let log: (String) -> Void

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
      log("source-\(version): cached")
      return try KernelTree.locate(label: "source-\(version)", version: version, root: base + "/build")
    }
    let repo = AptRepository(directory: cacheDirectory + "/apt", mirror: try AptRepository.machineMirror(), log: log)
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
    log("source-\(version): building bzImage (\(newest.version)); this takes about 25 minutes on 2 cores")
    try sh("cd '\(base)/build' && make -s -j$(nproc) bzImage 2>&1 | tail -20", "make bzImage")
    HostProcess.removeTree(base + "/pkg")
    HostProcess.removeTree(base + "/debs")
    _ = fm.createFile(atPath: base + "/complete", contents: Data())
    return try KernelTree.locate(label: "source-\(version)", version: version, root: base + "/build")
  }

  private func sh(_ script: String, _ what: String) throws(LabError) {
    let r = try? HostProcess.run(["sh", "-c", "set -e; " + script])
    guard r?.exit.succeeded == true else { throw .setup("\(what) failed: \((r?.stderr ?? "").suffix(800))") }
  }
}
