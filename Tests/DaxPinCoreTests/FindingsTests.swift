import Testing

@testable import DaxPinCore

/// A host with everything daxpin can use; tests take pieces away.
func fullInventory() -> Inventory {
  Inventory(
    kernel: KernelInfo(
      release: "6.1.0-28-amd64", cmdline: "intel_iommu=on", configSource: "/boot/config-6.1.0-28-amd64",
      config: ["CONFIG_VFIO": "m", "CONFIG_IOMMUFD": "m", "CONFIG_FS_DAX": "y"]),
    privileges: Privileges(uid: 0, capIPCLock: true, memlockSoftBytes: nil, memlockHardBytes: nil),
    iommu: IOMMUInfo(
      units: [IOMMUUnit(name: "dmar0", driver: "intel-iommu")],
      groups: [IOMMUGroup(id: 3, type: "DMA", devices: [IOMMUGroupDevice(address: "0000:00:03.0", bus: "pci", driver: "vfio-pci")])]),
    vfio: VFIOInfo(container: true, groups: [VFIOGroupNode(id: 3, node: "/dev/vfio/3", noiommu: false)], noiommuMode: false),
    iommufd: IOMMUFDInfo(present: true), ioUring: IOUringInfo(available: true, disabledSysctl: 0),
    pmem: PmemInfo(
      buses: [
        NdBus(
          provider: "e820", dev: "ndbus0",
          regions: [
            NdRegion(
              dev: "region0", size: 1 << 30,
              namespaces: [
                NdNamespace(dev: "namespace0.0", mode: "fsdax", size: 1 << 30, align: 2 << 20, blockdev: "pmem0")
              ])
          ]),
        NdBus(
          provider: "ACPI.NFIT", dev: "ndbus1",
          regions: [
            NdRegion(
              dev: "region1", size: 1 << 30,
              namespaces: [NdNamespace(dev: "namespace1.0", mode: "devdax", size: 1 << 30, align: 2 << 20, chardev: "dax1.0")])
          ]),
      ]),
    daxMounts: [DaxMount(mountPoint: "/mnt/pmem", source: "/dev/pmem0", fstype: "ext4", daxOption: "dax=always", statxDax: true)],
    hugetlb: [HugetlbPool(pageSizeKB: 2048, total: 8, free: 8)])
}

@Suite("inventory findings: what is absent and what would enable it")
struct FindingsTests {
  @Test func fullHostHasNoAbsences() {
    #expect(fullInventory().findings.isEmpty)
  }

  @Test func notRoot() {
    var inv = fullInventory()
    inv.privileges.uid = 1000
    let f = inv.findings
    #expect(f.count == 1)
    #expect(f[0].subject == "privileges")
    #expect(f[0].hint == "run daxpin as root")
  }

  @Test func missingVFIONodeNamesTheConfigWhenItIsOff() {
    var inv = fullInventory()
    inv.vfio = VFIOInfo()
    inv.kernel.config?["CONFIG_VFIO"] = "n"
    let f = inv.findings.first { $0.subject == "VFIO" }
    #expect(f?.message == "no /dev/vfio/vfio container node")
    #expect(f?.hint?.contains("without CONFIG_VFIO") == true)
    inv.kernel.config?["CONFIG_VFIO"] = "m"
    #expect(inv.findings.first { $0.subject == "VFIO" }?.hint?.contains("modprobe vfio-pci") == true)
  }

  @Test func containerWithoutGroups() {
    var inv = fullInventory()
    inv.vfio.groups = []
    #expect(inv.findings.first { $0.subject == "VFIO" }?.message.contains("no device is bound to vfio-pci") == true)
  }

  @Test func noPmemBus() {
    var inv = fullInventory()
    inv.pmem = PmemInfo()
    inv.daxMounts = []
    let subjects = inv.findings.map(\.subject)
    #expect(subjects.contains("pmem"))
    #expect(subjects.contains("devdax"))
    #expect(subjects.contains("fsdax"))
    #expect(inv.findings.first { $0.subject == "pmem" }?.hint?.contains("memmap=") == true)
  }

  @Test func unreadableConfig() {
    var inv = fullInventory()
    inv.kernel.config = nil
    inv.kernel.configSource = "unknown"
    let f = inv.findings.first { $0.subject == "kernel config" }
    #expect(f?.message.contains("/boot/config-6.1.0-28-amd64") == true)
    #expect(f?.hint?.contains("CONFIG_IKCONFIG_PROC") == true)
  }

  @Test func iommufdAbsentOnDebianConfig() {
    var inv = fullInventory()
    inv.iommufd.present = false
    inv.kernel.config?["CONFIG_IOMMUFD"] = "n"
    #expect(inv.findings.first { $0.subject == "iommufd" }?.hint?.contains("source:") == true)
  }

  @Test func daxInodeMountGetsANote() {
    var inv = fullInventory()
    inv.daxMounts[0].statxDax = false
    #expect(inv.findings.isEmpty, "a directory never reads DAX in statx; that alone is no finding")
    inv.daxMounts[0].daxOption = "dax=inode"
    #expect(inv.findings.first { $0.subject == "fsdax" }?.hint?.contains("chattr +x") == true)
  }

  @Test func textNamesEveryAbsence() {
    var inv = fullInventory()
    inv.vfio = VFIOInfo()
    inv.pmem = PmemInfo()
    let text = InventoryText.render(inv)
    #expect(text.contains("ABSENT VFIO: no /dev/vfio/vfio container node"))
    #expect(text.contains("ABSENT pmem: no NVDIMM bus"))
    #expect(text.contains("to enable: "))
  }

  @Test func jsonOmitsAbsentFactsAndKeepsArrays() throws {
    var inv = fullInventory()
    inv.kernel.config = nil
    inv.vfio = VFIOInfo()
    let json = try ReportJSON.encode(inv)
    #expect(!json.contains("null"))
    #expect(!json.contains("\"config\" :"))
    #expect(json.contains("\"device_cdevs\" : ["))
    let back = try ReportJSON.decode(Inventory.self, from: json)
    #expect(back == inv)
  }

  @Test func kernelVersionParsing() {
    #expect(KernelVersion(release: "6.1.0-28-amd64") == KernelVersion(6, 1, 0))
    #expect(KernelVersion(release: "5.10.226-1") == KernelVersion(5, 10, 226))
    #expect(KernelVersion(release: "7.0-rc3") == KernelVersion(7, 0))
    #expect(KernelVersion(release: "garbage") == nil)
    #expect(KernelVersion(6, 5) > KernelVersion(6, 1, 200))
  }
}
