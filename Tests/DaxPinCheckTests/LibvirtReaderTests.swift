import DaxPinXML
import Foundation
import Testing

@testable import DaxPinCore

func fixture(_ name: String) throws -> [UInt8] {
  Array(try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")))
}

func domain(_ name: String, paths: LibvirtDomainReader.Paths = .init()) throws -> VMConfig {
  try LibvirtDomainReader.read(try DomainXML.parse(try fixture(name)), paths: paths)
}

func domainXML(_ text: String) -> CheckProblem? {
  checkProblem { _ = try LibvirtDomainReader.read(try DomainXML.parse(Array(text.utf8))) }
}

@Suite("libvirt domain XML into regions and devices")
struct LibvirtReaderTests {
  @Test func virshDumpxmlOfAFileBackedSharedDomain() throws {
    let c = try domain("file-shared.xml")
    #expect(c.name == "db01")
    #expect(c.regions == [
      MemoryRegion(
        id: "pc.ram", role: .ram, declaredBy: "<memory>", size: 64 << 20, backing: .file(path: "/var/lib/libvirt/qemu/ram/3-db01/pc.ram"), shared: true,
        notes: ["libvirt creates /var/lib/libvirt/qemu/ram/3-db01/pc.ram when the domain starts (memory_backing_dir)"])
    ])
    #expect(c.devices == [PassthroughDevice(address: "0000:00:03.0", path: .container, declaredBy: "<hostdev type='pci'> 0000:00:03.0")])
  }

  @Test func memoryBackingDirFromQEMUConf() throws {
    let conf = """
      # memory_backing_dir = "/commented/out"
      memory_backing_dir = "/dev/shm/libvirt"   # RAM on tmpfs
      hugetlbfs_mount = ["/mnt/huge1G", "/mnt/huge2M"]
      """
    let paths = LibvirtQEMUConf.paths(in: conf)
    #expect(paths == LibvirtDomainReader.Paths(memoryBackingDirectory: "/dev/shm/libvirt", hugetlbfsMount: "/mnt/huge1G"))
    #expect(LibvirtQEMUConf.paths(in: "") == LibvirtDomainReader.Paths(memoryBackingDirectory: "/var/lib/libvirt/qemu/ram", hugetlbfsMount: "/dev/hugepages"))
    let c = try domain("file-shared.xml", paths: paths)
    #expect(c.regions.map(\.backing) == [.file(path: "/dev/shm/libvirt/3-db01/pc.ram")])
  }

  @Test func numaCellsNVDIMMsVirtioMemAndIOMMUFD() throws {
    let c = try domain("numa-nvdimm.xml")
    #expect(c.regions.map(\.id) == ["ram-node0", "ram-node1", "nvdimm0", "nvdimm1", "virtiopmem0", "virtiomem0"])
    #expect(c.regions.map(\.role) == [.numaNode, .numaNode, .nvdimm, .nvdimm, .virtioPmem, .virtioMem])
    let sizes: [UInt64] = [2 << 30, 2 << 30, 1 << 30, 1 << 30, 512 << 20, 128 << 30]
    #expect(c.regions.map(\.size) == sizes)
    #expect(c.regions.map(\.backing) == [
      .memfd(hugetlb: false), .memfd(hugetlb: false), .file(path: "/dev/dax0.0"), .file(path: "/mnt/fsdax-xfs/nv1.img"),
      .file(path: "/mnt/pagecache/pmem.img"), .memfd(hugetlb: false),
    ])
    #expect(c.regions.map(\.shared) == [true, false, true, true, true, true], "memAccess='private' on cell 1; memoryBacking's shared elsewhere")
    #expect(c.regions.map(\.prealloc) == [true, true, false, false, false, true])
    #expect(c.regions[2].align == 2 << 20)
    #expect(c.regions[2].pmem)
    #expect(c.regions[3].readOnly)
    #expect(c.regions[3].align == nil)
    #expect(c.regions[5].blockSize == 2 << 20)
    #expect(c.regions[5].notes == ["virtio-mem plugs and unplugs blocks at run time: the guest sees at most 128 GiB, 1 GiB requested"])
    #expect(c.devices == [
      PassthroughDevice(address: "0000:3b:00.1", path: .iommufd, declaredBy: "<hostdev type='pci'> 0000:3b:00.1"),
      PassthroughDevice(address: "0000:5e:10.2", path: .container, declaredBy: "<interface type='hostdev'> 0000:5e:10.2"),
      PassthroughDevice(address: "c2177883-f1bb-47f0-914d-32a22e3a8804", path: .container, mdev: true, declaredBy: "<hostdev type='mdev'>"),
    ])
    #expect(c.notes == ["<maxMemory slots='16'>: up to 16 GiB with memory hotplugged at run time; check judges only the <memory> devices the XML names"])
  }

  @Test func hugepagesAndPlainAnonymous() throws {
    let huge = try domain("hugepages.xml")
    #expect(huge.regions.map(\.backing) == [.hugetlbfs(directory: "/dev/hugepages/libvirt/qemu/<id>-nfv")])
    #expect(huge.regions.map(\.shared) == [false])
    #expect(huge.devices.map(\.address) == ["0000:00:03.0"], "domain='0x0000' is libvirt's default")
    let plain = try domain("private-anonymous.xml")
    #expect(plain.regions == [MemoryRegion(id: "pc.ram", role: .ram, declaredBy: "<memory>", size: 64 << 20, backing: .anonymous, shared: false)])
    #expect(plain.devices.isEmpty)
  }

  @Test func malformedIsOneLineNamingTheElement() {
    #expect(domainXML("<domain><name>x</name>") == .malformed("not well-formed XML at line 1, column 23: end of input inside <domain> (opened at line 1, column 1); no </domain>"))
    #expect(domainXML("<network><name>x</name></network>") == .malformed("root element <network>, not <domain>: not libvirt domain XML"))
    #expect(domainXML("<domain type='xen'><memory>1</memory></domain>") == .malformed("<domain type='xen'>: daxpin check reads QEMU and KVM domains"))
    #expect(domainXML("<domain><name>x</name></domain>") == .malformed("<memory> missing"))
    #expect(domainXML("<domain><memory unit='XB'>1</memory></domain>") == .malformed("<memory>: unit='XB' is not a unit"))
    #expect(domainXML("<domain><memory>lots</memory></domain>") == .malformed("<memory>: 'lots' is not a number"))
    #expect(
      domainXML("<domain><memory>1048576</memory><memoryBacking><source type='disk'/></memoryBacking></domain>")
        == .malformed("<memoryBacking><source type='disk'/>: not file, anonymous or memfd"))
    #expect(
      domainXML("<domain><memory>1048576</memory><devices><memory model='nvdimm'><target><size>1024</size></target></memory></devices></domain>")
        == .malformed("<memory model='nvdimm'>: <source><path> missing"))
    #expect(
      domainXML("<domain><memory>1048576</memory><devices><memory model='dimm'><target/></memory></devices></domain>")
        == .malformed("<memory model='dimm'>: <target><size> missing"))
    #expect(
      domainXML("<domain><memory>1048576</memory><devices><hostdev mode='subsystem' type='pci'><source/></hostdev></devices></domain>")
        == .malformed("<hostdev type='pci'>: <source><address> missing"))
    #expect(
      domainXML("<domain><memory>1048576</memory><devices><hostdev type='pci'><source><address bus='0x00' slot='0x40' function='0'/></source></hostdev></devices></domain>")
        == .malformed("<hostdev type='pci'>: <source><address slot='0x40'>: not a PCI slot"))
  }

  @Test func documentsThatDeclareEntitiesAreRefused() throws {
    let external = """
      <?xml version="1.0"?>
      <!DOCTYPE domain [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
      <domain><name>&secret;</name><memory>1024</memory></domain>
      """
    #expect(domainXML(external) == .malformed("<!ENTITY secret>: domain XML declares no entities (virsh dumpxml writes none); not read"))
    let laughs = """
      <!DOCTYPE domain [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
      <domain><name>&lol2;</name><memory>1024</memory></domain>
      """
    #expect(domainXML(laughs) == .malformed("<!ENTITY lol>: domain XML declares no entities (virsh dumpxml writes none); not read"))
  }

  @Test func predefinedAndCharacterReferencesAreText() throws {
    let xml = """
      <domain><name>a&amp;b&apos;c&#x41;</name><memory unit='KiB'>1024</memory><devices><memory model='nvdimm'><source>
      <path>/var/tmp/x&amp;y.img</path></source><target><size>1024</size></target></memory></devices></domain>
      """
    let c = try LibvirtDomainReader.read(try DomainXML.parse(Array(xml.utf8)))
    #expect(c.name == "a&b'cA")
    #expect(c.regions.map(\.backing) == [.anonymous, .file(path: "/var/tmp/x&y.img")])
  }
}
