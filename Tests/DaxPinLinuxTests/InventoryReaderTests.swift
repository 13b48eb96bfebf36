import DaxPinCore
import Foundation
import Testing

@testable import DaxPinLinux

@Suite("inventory readers on fixture trees")
struct InventoryReaderTests {
  @Test func configFromProcConfigGz() throws {
    let tree = try FixtureTree()
    try tree.copy(fixture: "config.gz", to: "/proc/config.gz")
    let (source, config) = KernelConfigReader(files: FileTree(root: tree.root)).read(release: "6.1.0-lab")
    #expect(source == "/proc/config.gz")
    let c = try #require(config)
    #expect(c["CONFIG_FS_DAX"] == "y")
    #expect(c["CONFIG_VFIO"] == "m")
    #expect(c["CONFIG_DEV_DAX"] == "n")
    #expect(c["CONFIG_IOMMUFD"] == "n")
    #expect(c["CONFIG_UNRELATED"] == nil, "only the relevant options are kept")
    #expect(c["CONFIG_GUP_TEST"] == nil, "an option the config never mentions is absent, not n")
  }

  /// The byte-level config parser answers as the String one it replaced: on a distribution
  /// config (a cached Debian one, when the lab has fetched it), with every option asked for, and
  /// on odd lines.
  @Test func configParserEqualsTheStringOne() throws {
    let odd = """
      CONFIG_FS_DAX=y
        CONFIG_VFIO=m\t
      CONFIG_CMDLINE="quiet \"x\""
      CONFIG_EMPTY=
      CONFIG_NOEQ
      #CONFIG_DEV_DAX is not set
      # CONFIG_IOMMUFD is not set
      # CONFIG_GUP_TEST is not set  
      # CONFIG_ is not set
      CONFIG_=x
      CONFIG_DEV_DAX=""
      \u{00e9}CONFIG_X=y
      """
    let names = ["CONFIG_FS_DAX", "CONFIG_VFIO", "CONFIG_CMDLINE", "CONFIG_EMPTY", "CONFIG_NOEQ", "CONFIG_DEV_DAX", "CONFIG_IOMMUFD",
      "CONFIG_GUP_TEST", "CONFIG_", "CONFIG_X"]
    #expect(KernelConfigReader.parse(odd, options: names) == StringConfigParser.parse(odd, options: names))
    #expect(KernelConfigReader.parse(odd) == StringConfigParser.parse(odd))
    let cache = NSHomeDirectory() + "/.cache/daxpin/kernels"
    let configs = (FileManager.default.enumerator(atPath: cache)?.allObjects as? [String] ?? []).filter { $0.contains("/boot/config-") }
    for c in configs.prefix(4) {
      let text = try String(contentsOfFile: cache + "/" + c, encoding: .utf8)
      let all = text.split(separator: "\n").compactMap { line -> String? in
        let l = line.hasPrefix("# ") ? line.dropFirst(2) : line
        return l.hasPrefix("CONFIG_") ? String(l.prefix { $0 != "=" && $0 != " " }) : nil
      }
      #expect(KernelConfigReader.parse(text) == StringConfigParser.parse(text), "\(c)")
      #expect(KernelConfigReader.parse(text, options: all) == StringConfigParser.parse(text, options: all), "\(c)")
    }
  }

  @Test func configFallsBackToBoot() throws {
    let tree = try FixtureTree()
    try tree.file("/boot/config-6.1.0-lab", "CONFIG_FS_DAX=y\n# CONFIG_VFIO is not set\n")
    let (source, config) = KernelConfigReader(files: FileTree(root: tree.root)).read(release: "6.1.0-lab")
    #expect(source == "/boot/config-6.1.0-lab")
    #expect(config?["CONFIG_VFIO"] == "n")
  }

  @Test func configUnknownWhenNeitherExists() throws {
    let tree = try FixtureTree()
    try tree.file("/boot/config-other", "CONFIG_FS_DAX=y\n")
    let (source, config) = KernelConfigReader(files: FileTree(root: tree.root)).read(release: "6.1.0-lab")
    #expect(source == "unknown")
    #expect(config == nil)
  }

  @Test func unreadableConfigIsUnknown() throws {
    let tree = try FixtureTree()
    try tree.file("/proc/config.gz", "")
    try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: tree.root + "/proc/config.gz")
    let (source, _) = KernelConfigReader(files: FileTree(root: tree.root)).read(release: "x")
    // root reads mode-0 files; either way an empty or unreadable file is no config.
    #expect(source == "unknown")
  }

  @Test func iommuGroupsDevicesAndDrivers() throws {
    let tree = try FixtureTree()
    try tree.directory("/sys/class/iommu/dmar0")
    try tree.file("/sys/kernel/iommu_groups/3/type", "DMA\n")
    try tree.link("/sys/kernel/iommu_groups/3/devices/0000:00:03.0", to: "../../../../devices/pci0000:00/0000:00:03.0")
    try tree.link("/sys/devices/pci0000:00/0000:00:03.0/driver", to: "../../../bus/pci/drivers/vfio-pci")
    try tree.link("/sys/devices/pci0000:00/0000:00:03.0/subsystem", to: "../../../bus/pci")
    try tree.file("/sys/kernel/iommu_groups/10/type", "identity\n")
    try tree.directory("/sys/kernel/iommu_groups/10/devices")
    let info = IOMMUReader(files: FileTree(root: tree.root)).read()
    #expect(info.driver == "intel-iommu")
    #expect(info.groups.map(\.id) == [3, 10], "numeric order, not lexical")
    #expect(info.groups[0].devices == [IOMMUGroupDevice(address: "0000:00:03.0", bus: "pci", driver: "vfio-pci")])
    #expect(info.groups[1].type == "identity")
  }

  @Test func vfioNodesAndParameters() throws {
    let tree = try FixtureTree()
    try tree.file("/dev/vfio/vfio")
    try tree.file("/dev/vfio/7")
    try tree.file("/dev/vfio/noiommu-0")
    try tree.file("/dev/vfio/devices/vfio0")
    try tree.file("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n")
    try tree.file("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "65535\n")
    let info = VFIOReader(files: FileTree(root: tree.root)).read()
    #expect(info.container)
    #expect(Set(info.groups.map(\.node)) == ["/dev/vfio/7", "/dev/vfio/noiommu-0"])
    #expect(info.groups.first { $0.noiommu }?.id == 0)
    #expect(info.deviceCdevs == ["/dev/vfio/devices/vfio0"])
    #expect(info.noiommuMode == false)
    #expect(info.dmaEntryLimit == 65535)
  }

  @Test func missingDevNodesAreAbsentNotErrors() throws {
    let tree = try FixtureTree()
    let inv = LinuxInventory(root: tree.root).collect()
    #expect(!inv.vfio.container)
    #expect(inv.vfio.groups.isEmpty)
    #expect(!inv.iommufd.present)
    #expect(inv.iommu.groups.isEmpty)
    #expect(inv.kernel.configSource == "unknown")
    #expect(inv.pmem.buses.isEmpty)
    let subjects = Set(inv.findings.filter { $0.level == .absent }.map(\.subject))
    #expect(subjects.isSuperset(of: ["VFIO", "iommufd", "IOMMU", "pmem", "kernel config", "fsdax", "devdax"]))
  }

  @Test func mountinfoDaxOptions() throws {
    let mounts = MountInfo.parse(try fixtureText("mountinfo"))
    #expect(mounts.count == 6)
    let dax = mounts.filter { $0.daxOption != nil }
    #expect(dax.map(\.mountPoint) == ["/mnt/pmem ext4", "/mnt/pmem-xfs", "/mnt/old"], "octal escapes decoded; dax=never is not DAX")
    #expect(dax.map(\.daxOption) == ["dax=always", "dax=always", "dax"])
    #expect(dax[1].fstype == "xfs")
    #expect(dax[1].source == "/dev/pmem1")
  }

  @Test func hugetlbPools() throws {
    let tree = try FixtureTree()
    try tree.file("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "8\n")
    try tree.file("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "6\n")
    try tree.file("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n")
    try tree.file("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0\n")
    let pools = LinuxInventory(root: tree.root).hugetlb()
    #expect(pools == [HugetlbPool(pageSizeKB: 2048, total: 8, free: 6), HugetlbPool(pageSizeKB: 1_048_576, total: 0, free: 0)])
  }

  @Test func capabilityAndUidFromStatus() {
    let status = "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000004000\n"
    #expect(LinuxInventory.hasCapability(14, status: status))
    #expect(!LinuxInventory.hasCapability(21, status: status))
    #expect(LinuxInventory.uid(status: status) == 1000)
  }
}

@Suite("inventory of this machine")
struct LiveInventoryTests {
  @Test func releaseMatchesUname() throws {
    let inv = LinuxInventory().collect()
    var u = utsname()
    uname(&u)
    let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    #expect(inv.kernel.release == release)
    #expect(inv.pmem.error == nil, "libndctl and libdaxctl answer even with no pmem")
  }

  @Test func ioUringAnswersTheSameAsTheSysctl() {
    let inv = LinuxInventory().collect()
    if inv.ioUring.disabledSysctl == 2 { #expect(!inv.ioUring.available) }
    if inv.ioUring.available { #expect(inv.ioUring.setupErrno == nil) } else { #expect(inv.ioUring.setupErrno != nil) }
  }

  @Test func pmemMatchesNdctlList() throws {
    // ndctl list -B prints one object per bus (an array, or nothing at all when there is none).
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/ndctl")
    p.arguments = ["list", "-B"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = Pipe()
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ndctl") else { return }
    try p.run()
    p.waitUntilExit()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let busCount = out.components(separatedBy: "\"provider\"").count - 1
    #expect(LinuxInventory().collect().pmem.buses.count == busCount)
  }
}

/// The String-splitting config parser the byte-level one replaced: the oracle for it.
enum StringConfigParser {
  static func parse(_ text: String, options: [String] = KernelInfo.relevantOptions) -> [String: String] {
    let wanted = Set(options)
    var out: [String: String] = [:]
    for raw in text.split(separator: "\n") {
      let line = raw.trimmingCharacters(in: " \t")
      if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
        let name = String(line.dropFirst(2).dropLast(" is not set".count))
        if wanted.contains(name) { out[name] = "n" }
      } else if line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") {
        let name = String(line[..<eq])
        if wanted.contains(name) {
          out[name] = String(line[line.index(after: eq)...]).trimmingCharacters(in: "\"")
        }
      }
    }
    return out
  }
}
