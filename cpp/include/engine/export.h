// ENGINE_API marks the public API: libengine is built with hidden symbols by default, so
// only what carries this macro is visible to programs that link it.
#pragma once

#if defined(_WIN32)
#if defined(ENGINE_BUILDING_LIBRARY)
#define ENGINE_API __declspec(dllexport)
#else
#define ENGINE_API __declspec(dllimport)
#endif
#else
#define ENGINE_API __attribute__((visibility("default")))
#endif
