/// Delivers the result of `infer_submit` to the submitting instance's mailbox
/// as an AOS_MSG_INFERENCE message from "kernel", whose id is the request id.
final class MailboxInferenceSink: InferenceSink, Sendable {
    private weak let instance: Instance?
    private let requestID: UInt64

    init(instance: Instance, requestID: UInt64) {
        self.instance = instance
        self.requestID = requestID
    }

    func received(_ piece: String) {}

    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        let text = (try? outcome.get()).map { Array($0.text.utf8) } ?? []
        _ = instance?.mailbox.pushFromKernel(
            Envelope(id: requestID, sender: .kernel, body: MessageBody(text), kind: .inferenceResult(outcome)))
    }
}
