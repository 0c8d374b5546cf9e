/*
 * cppkeeper — a C++ agent written with agentos.hpp that counts the messages
 * it handled and hands the count to its next version across a hot reload
 * (save and restore). Answers a request with "#N TEXT".
 * Saved state: "keeper1 N" (a version, then the count in decimal).
 */
#include <string>
#include <string_view>

#include "agentos.hpp"

struct keeper {
    aos::context ctx;
    unsigned long handled = 0;

    keeper(aos::context c, std::string_view) : ctx(c) {}

    void on_message(const aos::message &m) {
        handled += 1;
        if (m.is_request()) ctx.reply(m, "#" + std::to_string(handled) + " " + std::string(m.body()));
    }

    std::string save() { return "keeper1 " + std::to_string(handled); }

    void restore(std::string_view saved) {
        constexpr std::string_view version = "keeper1 ";
        if (saved.substr(0, version.size()) != version) throw aos::error(AOS_EINVAL, "unknown saved state");
        handled = std::stoul(std::string(saved.substr(version.size())));
    }
};

extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
const aos_plugin_descriptor aos_plugin =
    aos::agent_descriptor<keeper>("cppkeeper", "1.0.0", "Test fixture: counts messages and keeps the count across a reload.");
