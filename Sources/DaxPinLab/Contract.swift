import DaxPinCore
import DaxPinFake

/// Holds a real kernel to its fake profile: the whole probe matrix (outcome and errno, cell by
/// cell) and the misuse scenarios. The profile's side runs through the same `ProbeRun` as the
/// guest, on a fake host built from the same `LabLayout`.
public enum Contract {
  /// The profile's report, as the lab guest's probe was asked for, on the fake host of `pmem`'s
  /// guest (`FakeTopology(lab:)`).
  public static func model(_ profile: KernelProfile, pmem: PmemMode = .memmap, toolVersion: String) -> (report: Report, answers: MisuseAnswers) {
    let request = ProbeRequest(pagecacheDirectory: LabLayout.standard.pagecache, toolVersion: toolVersion, kmemNode: LabLayout.standard.kmemNode(pmem))
    func fake() -> FakeHost { FakeHost(FakeKernel(profile: profile, topology: FakeTopology(lab: pmem), pmem: pmem)) }
    // A fake host is always privileged, its directories exist and nothing interrupts it: the
    // run cannot throw.
    let report = try! ProbeRun(host: fake(), request: request).run()
    let answers = try! ProbeRun(host: fake(), request: request).misuseAnswers()
    return (report, answers)
  }

  public static func differences(report: Report, answers: MisuseAnswers, profile: KernelProfile, pmem: PmemMode = .memmap) -> [String] {
    let (model, modelAnswers) = model(profile, pmem: pmem, toolVersion: report.tool.version)
    let byID = Dictionary(model.probes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    var out: [String] = []
    for p in report.probes {
      guard let m = byID[p.id] else {
        out.append("\(p.id): not in the profile")
        continue
      }
      if p.outcome != m.outcome || p.errnoName != m.errnoName {
        out.append("\(p.id): kernel \(p.outcome.rawValue) \(p.errnoName ?? ""), profile \(m.outcome.rawValue) \(m.errnoName ?? "")")
      } else if p.memory.kind == .devdaxKmem, p.frames?.placement != m.frames?.placement || p.verdict != m.verdict {
        // devdax-kmem: where the pin left the pages is the finding.
        let (k, f) = (p.frames?.placement.rawValue ?? "no frames", m.frames?.placement.rawValue ?? "no frames")
        out.append("\(p.id): kernel \(k) \(p.verdict.rawValue), profile \(f) \(m.verdict.rawValue)")
      }
    }
    if answers.isEmpty {
      out.append("the guest printed no misuse answers")
    } else {
      out += MisuseScenarios.differences(real: answers, model: modelAnswers)
    }
    return out
  }
}
