# Finds the CPython PluginHost embeds: 3.12 or newer, built with a shared libpython.
#
# An explicit choice wins: -DPLUGINHOST_PYTHON=<prefix> or -DPython3_ROOT_DIR=<prefix>.
# scripts/find-python picks the newest 3.14/3.13/3.12 on PATH or under pyenv and passes it.

set(PLUGINHOST_PYTHON "" CACHE PATH "Prefix of the CPython (3.12+, shared library) to embed")
if(PLUGINHOST_PYTHON)
    set(Python3_ROOT_DIR "${PLUGINHOST_PYTHON}")
endif()
if(Python3_ROOT_DIR)
    set(Python3_FIND_STRATEGY LOCATION)
    set(Python3_FIND_VIRTUALENV STANDARD)
    set(Python3_FIND_REGISTRY NEVER)
endif()

set(_pluginhost_python_help
"PluginHost needs CPython 3.12 or newer built with --enable-shared: 3.12 brought the \
per-interpreter GIL (PEP 684) that every plugin runs under. Debian 12's python3 is 3.11 and \
cannot be used. Install one, for example with pyenv: \
`env PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.13`, then configure with \
-DPLUGINHOST_PYTHON=$(pyenv prefix 3.13.0), or run scripts/build, which finds it.")

# Development.Embed alone is not found for pyenv builds; Interpreter is needed too.
find_package(Python3 3.12 COMPONENTS Interpreter Development.Embed)
if(NOT Python3_FOUND)
    message(FATAL_ERROR "No usable CPython found. ${_pluginhost_python_help}")
endif()
if(Python3_VERSION VERSION_LESS 3.12)
    message(FATAL_ERROR "CPython ${Python3_VERSION} at ${Python3_EXECUTABLE} is too old. ${_pluginhost_python_help}")
endif()

execute_process(
    COMMAND "${Python3_EXECUTABLE}" -I -S -c
        "import sys, sysconfig; print(sysconfig.get_config_var('Py_ENABLE_SHARED') or 0); print(sys.base_prefix)"
    OUTPUT_VARIABLE _pluginhost_python_facts
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _pluginhost_python_result)
if(NOT _pluginhost_python_result EQUAL 0)
    message(FATAL_ERROR "Could not run ${Python3_EXECUTABLE} to inspect it. ${_pluginhost_python_help}")
endif()
string(REPLACE "\n" ";" _pluginhost_python_facts "${_pluginhost_python_facts}")
list(GET _pluginhost_python_facts 0 _pluginhost_python_shared)
list(GET _pluginhost_python_facts 1 PLUGINHOST_PYTHON_HOME)
if(NOT _pluginhost_python_shared)
    message(FATAL_ERROR "CPython ${Python3_VERSION} at ${Python3_EXECUTABLE} was built without a shared libpython. ${_pluginhost_python_help}")
endif()

set(PLUGINHOST_PYTHON_VERSION "${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}")
message(STATUS "PluginHost embeds CPython ${Python3_VERSION} from ${PLUGINHOST_PYTHON_HOME}")
