import DaxPinCore
import DaxPinFake

/// Holds a real kernel to its fake profile: the whole probe matrix (outcome and errno, cell by
/// cell) and the misuse scenarios.
public enum Contract {
  public static func differences(report: Report, answers: [String: String], profile: KernelProfile) -> [String] {
    let fake = FakeKernel(profile: profile)
    let model = fake.probeReport(toolVersion: report.tool.version)
    let byID = Dictionary(model.probes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    var out: [String] = []
    for p in report.probes {
      guard let m = byID[p.id] else {
        out.append("\(p.id): not in the profile")
        continue
      }
      if p.outcome != m.outcome || p.errnoName != m.errnoName {
        out.append("\(p.id): kernel \(p.outcome.rawValue) \(p.errnoName ?? ""), profile \(m.outcome.rawValue) \(m.errnoName ?? "")")
      }
    }
    if answers.isEmpty {
      out.append("the guest printed no misuse answers")
    } else {
      let inv = FakeKernel(profile: profile)
      let modelAnswers = MisuseScenarios.run(inv, .init(targets: ProbeTargets.resolve(inventory: inv.inventory, options: ProbeOptions())))
      out += MisuseScenarios.differences(real: answers, model: modelAnswers)
    }
    return out
  }
}
