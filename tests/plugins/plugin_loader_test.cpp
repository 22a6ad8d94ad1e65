// load_backend_plugin: the example plugin loads once per path and stays loaded;
// every broken plugin is refused with a message naming the path and the problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "backends/plugin.h"
#include "core/error.h"

namespace suanli {
namespace {

namespace fs = std::filesystem;

// The message load_backend_plugin throws for `path`, or "" if it loads.
std::string load_error(const fs::path& path) {
    try {
        load_backend_plugin(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(PluginLoader, LoadsTheExamplePlugin) {
    const sl_backend& b = load_backend_plugin(EXAMPLE_PLUGIN);
    EXPECT_STREQ(b.name, "example");
    EXPECT_EQ(b.abi_version, SL_BACKEND_ABI_VERSION);
    EXPECT_GE(b.struct_size, sizeof(sl_backend));
    EXPECT_EQ(b.device_count(), 1);
    EXPECT_NE(b.buffer_from_host, nullptr);
}

TEST(PluginLoader, SamePathTwiceGivesTheSameTable) {
    const sl_backend& a = load_backend_plugin(EXAMPLE_PLUGIN);
    const sl_backend& b = load_backend_plugin(EXAMPLE_PLUGIN);
    EXPECT_EQ(&a, &b);
    // Another spelling of the same file is the same plugin too.
    const fs::path p(EXAMPLE_PLUGIN);
    const sl_backend& c = load_backend_plugin(p.parent_path() / "." / p.filename());
    EXPECT_EQ(&a, &c);
}

TEST(PluginLoader, RelativePathOpensThatFileNotTheLibrarySearchPath) {
    const fs::path p(EXAMPLE_PLUGIN);
    const fs::path old = fs::current_path();
    fs::current_path(p.parent_path());
    std::string error;
    const sl_backend* b = nullptr;
    try {
        b = &load_backend_plugin(p.filename());  // no '/': dlopen alone would search LD_LIBRARY_PATH
    } catch (const Error& e) {
        error = e.what();
    }
    fs::current_path(old);
    ASSERT_EQ(error, "");
    EXPECT_EQ(b, &load_backend_plugin(EXAMPLE_PLUGIN));
}

TEST(PluginLoader, MissingFile) {
    const std::string e = load_error("/nonexistent/libnothing.so");
    EXPECT_NE(e.find("/nonexistent/libnothing.so"), std::string::npos) << e;
    EXPECT_NE(e.find("no such file"), std::string::npos) << e;
}

TEST(PluginLoader, Directory) {
    const std::string e = load_error(fs::temp_directory_path());
    EXPECT_NE(e.find("directory"), std::string::npos) << e;
}

TEST(PluginLoader, NotASharedObject) {
    const fs::path path = fs::temp_directory_path() / ("suanli_not_a_plugin_" + std::to_string(::getpid()) + ".so");
    std::ofstream(path) << "this is text, not ELF\n";
    const std::string e = load_error(path);
    fs::remove(path);
    EXPECT_NE(e.find("cannot load backend plugin " + path.string()), std::string::npos) << e;
    // dlerror's own words follow, e.g. "invalid ELF header" or "file too short".
    EXPECT_GT(e.size(), ("cannot load backend plugin " + path.string() + ": ").size()) << e;
}

TEST(PluginLoader, NoEntrySymbol) {
    const std::string e = load_error(BAD_PLUGIN_NO_ENTRY);
    EXPECT_NE(e.find(BAD_PLUGIN_NO_ENTRY), std::string::npos) << e;
    EXPECT_NE(e.find("does not export suanli_backend_entry"), std::string::npos) << e;
}

TEST(PluginLoader, WrongAbiVersionNamesBothVersions) {
    const std::string e = load_error(BAD_PLUGIN_WRONG_ABI);
    EXPECT_EQ(e, std::string(BAD_PLUGIN_WRONG_ABI) + " was built for backend ABI version " +
                     std::to_string(SL_BACKEND_ABI_VERSION + 1) + "; this suanli speaks version " +
                     std::to_string(SL_BACKEND_ABI_VERSION) +
                     ": rebuild it against this include/suanli/backend.h");
}

TEST(PluginLoader, EntryReturningNull) {
    const std::string e = load_error(BAD_PLUGIN_NULL_TABLE);
    EXPECT_NE(e.find("returned NULL"), std::string::npos) << e;
}

TEST(PluginLoader, MissingFunctionsAreNamed) {
    const std::string e = load_error(BAD_PLUGIN_MISSING_FUNCTIONS);
    EXPECT_NE(e.find("lacks required functions: graph_compute, last_error"), std::string::npos) << e;
}

TEST(PluginLoader, EmptyName) {
    const std::string e = load_error(BAD_PLUGIN_NO_NAME);
    EXPECT_NE(e.find("has no name"), std::string::npos) << e;
}

TEST(PluginLoader, TableSmallerThanThisVersion) {
    const std::string e = load_error(BAD_PLUGIN_SMALL_TABLE);
    EXPECT_NE(e.find("function table is 16 bytes"), std::string::npos) << e;
}

TEST(PluginLoader, RefusedPluginStaysRefused) {
    EXPECT_NE(load_error(BAD_PLUGIN_WRONG_ABI), "");
    EXPECT_NE(load_error(BAD_PLUGIN_WRONG_ABI), "");
}

}  // namespace
}  // namespace suanli
