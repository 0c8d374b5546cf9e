import CAgentOS
import ControlAPI
import Foundation

/// What `agentosd` prints once it is listening: where things are, and how to start.
enum Banner {
    static func print(home: AgentOSHome, config: String?, pluginsDirectory: String?, version: String, engine: String) {
        let plugins = pluginsDirectory.map { AgentOSHome(path: $0).displayPath + "  (drop a .so here to load it)" } ?? "(not watched)"
        let text = """
            agentosd \(version) (ABI \(AOS_ABI_MAJOR).\(AOS_ABI_MINOR)), pid \(getpid())
              home     \(home.displayPath)
              socket   \(home.displaySocketPath)
              config   \(config ?? "(none)")
              plugins  \(plugins)
              engine   \(engine)
            Try, in another terminal:
              agentctl ps
              agentctl send echo "hello" --wait
              agentctl send pinger "ping 1000" --wait
              agentctl logs echo -f
              agentctl send support "How much is the Trail Tent 2P?" --wait
              agentctl infer "Write a haiku about kernels."
              agentctl engine
            Stop with Ctrl-C.

            """
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
