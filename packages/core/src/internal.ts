/**
 * @tarm/core/internal: helpers the tarm packages, apps, tools and tests share with each other. Not part of the
 * public API; may change in any release. Browser-safe, like the main entry.
 */
export { configDefiner, deepFreeze } from './config.js';
export { resolveBackend, type ResolvedBackend } from './backend.js';
export {
  setting,
  settingsShape,
  pickSettings,
  unsetSettings,
  settingDefaults,
  settingAliases,
  renameAliases,
  flagName,
  type Setting,
  type SettingsTable,
  type SettingsShape,
  type Unset,
} from './settings.js';
