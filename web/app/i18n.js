// English and Spanish strings. The language follows the browser unless the user picks one
// (remembered in localStorage); `t(key, params)` fills `{name}` placeholders.

const STRINGS = {
  en: {
    'app.title': 'Identity verification',
    'lang.switch': 'Español',
    'lang.switchLabel': 'Cambiar a español',
    'loading': 'Loading…',
    'progress': 'Step {current} of {total}',
    'steps.label': 'Progress',
    'status.completed': 'Done',
    'status.in_progress': 'In progress',
    'status.pending': 'To do',
    'status.skipped': 'Skipped',
    'status.needs_correction': 'Needs a fix',
    'required': 'Required',
    'optional': 'optional',
    'continue': 'Continue',
    'saving': 'Saving…',
    'retrying': 'Connection problem. Retrying ({attempt} of {max})…',
    'offline': 'We could not reach the server. Check your connection and try again.',
    'tryAgain': 'Try again',
    'error.generic': 'Something went wrong. Please try again.',
    'error.required': 'This field is required.',
    'error.fixBelow': 'Please fix the highlighted fields.',
    'invalid.title': 'This link does not work',
    'invalid.body': 'The link has expired, was replaced by a newer one, or is not complete. Ask the company that sent it for a new link.',
    'upload.choose': 'Choose a file',
    'upload.camera': 'Use the camera',
    'upload.hintTypes': 'Accepted: {types}, up to {size}.',
    'upload.uploading': 'Uploading {name}…',
    'upload.progress': 'Upload progress',
    'upload.done': '{name} uploaded.',
    'upload.badType': '{name} is not an accepted file type.',
    'upload.tooBig': '{name} is larger than {size}.',
    'upload.empty': '{name} is empty.',
    'upload.uploaded': 'Uploaded',
    'upload.missing': 'Upload every required document first.',
    'extract.title': 'Is this information correct?',
    'extract.confirm': 'Yes, it is correct',
    'extract.retake': 'No, upload another',
    'extract.reading': 'Reading your document…',
    'extract.failed': 'We could not read this document automatically; a reviewer will check it.',
    'extract.full_name': 'Full name',
    'extract.document_number': 'Document number',
    'extract.date_of_birth': 'Date of birth',
    'extract.nationality': 'Nationality',
    'extract.expiry_date': 'Expiry date',
    'extract.gender': 'Sex',
    'select.placeholder': 'Select…',
    'country.placeholder': 'Select a country…',
    'phone.hint': 'International format, e.g. +5491122334455',
    'date.hint': 'YYYY-MM-DD',
    'file.current': 'Current file: {name}',
    'liveness.intro': 'We will check that you are present in front of the camera.',
    'liveness.start': 'Start the check',
    'liveness.testBanner': 'Test mode: no camera is used and no real check is made. The sandbox decides the result.',
    'liveness.testComplete': 'Complete the test check',
    'liveness.passed': 'Liveness check passed.',
    'liveness.failed': 'The check did not pass: {message}',
    'liveness.unavailable': 'The camera check could not be loaded. Please try again later.',
    'liveness.camera': 'Follow the instructions on screen.',
    'parties.name': 'Full name',
    'parties.email': 'Email',
    'parties.role': 'Role',
    'parties.add': 'Add person',
    'parties.added': '{name} added. Share their link with them.',
    'parties.list': 'People added',
    'parties.none': 'Nobody added yet.',
    'parties.counts': '{completed} of {total} finished · at least {min}, at most {max}',
    'parties.link': 'Link for {name}',
    'parties.copy': 'Copy link',
    'parties.copied': 'Link copied.',
    'parties.share': 'Share',
    'parties.regenerate': 'New link',
    'parties.regenerated': 'New link created; the old one no longer works.',
    'parties.delete': 'Remove',
    'parties.deleted': '{name} removed.',
    'parties.confirmDelete': 'Remove {name}?',
    'parties.noLink': 'No active link',
    'parties.needMore': 'Add at least {min} to continue.',
    'parties.shareText': 'Please complete your identity verification',
    'party.active': 'Not finished',
    'party.completed': 'Finished',
    'party.manual_review': 'Finished',
    'party.approved': 'Approved',
    'party.rejected': 'Rejected',
    'party.expired': 'Expired',
    'party.canceled': 'Canceled',
    'party.awaiting_client_correction': 'Needs a fix',
    'party.processing': 'Finished',
    'correction.title': 'We need a few changes',
    'correction.intro': 'A reviewer asked you to fix the items below. Everything else is already done.',
    'correction.message': 'Reviewer’s message',
    'correction.done': 'Send the fix',
    'end.completed.title': 'Thank you!',
    'end.completed.body': 'You have finished. We will let you know the result.',
    'end.review.title': 'Under review',
    'end.review.body': 'Thank you! Your information is being reviewed. You can close this page.',
    'end.approved.title': 'Verified',
    'end.approved.body': 'Your identity has been verified.',
    'end.rejected.title': 'We could not verify you',
    'end.rejected.body': 'Your verification was not approved.',
    'end.reasons': 'Reasons',
    'end.redirect': 'Return to the website',
    'testMode': 'Test mode',
  },
  es: {
    'app.title': 'Verificación de identidad',
    'lang.switch': 'English',
    'lang.switchLabel': 'Switch to English',
    'loading': 'Cargando…',
    'progress': 'Paso {current} de {total}',
    'steps.label': 'Progreso',
    'status.completed': 'Listo',
    'status.in_progress': 'En curso',
    'status.pending': 'Pendiente',
    'status.skipped': 'Omitido',
    'status.needs_correction': 'A corregir',
    'required': 'Obligatorio',
    'optional': 'opcional',
    'continue': 'Continuar',
    'saving': 'Guardando…',
    'retrying': 'Problema de conexión. Reintentando ({attempt} de {max})…',
    'offline': 'No pudimos conectar con el servidor. Revisa tu conexión e inténtalo de nuevo.',
    'tryAgain': 'Reintentar',
    'error.generic': 'Algo salió mal. Inténtalo de nuevo.',
    'error.required': 'Este campo es obligatorio.',
    'error.fixBelow': 'Corrige los campos marcados.',
    'invalid.title': 'Este enlace no funciona',
    'invalid.body': 'El enlace expiró, fue reemplazado por uno nuevo o está incompleto. Pide un enlace nuevo a la empresa que te lo envió.',
    'upload.choose': 'Elegir un archivo',
    'upload.camera': 'Usar la cámara',
    'upload.hintTypes': 'Se aceptan: {types}, hasta {size}.',
    'upload.uploading': 'Subiendo {name}…',
    'upload.progress': 'Progreso de la subida',
    'upload.done': '{name} subido.',
    'upload.badType': '{name} no es un tipo de archivo aceptado.',
    'upload.tooBig': '{name} pesa más de {size}.',
    'upload.empty': '{name} está vacío.',
    'upload.uploaded': 'Subido',
    'upload.missing': 'Primero sube todos los documentos obligatorios.',
    'extract.title': '¿Estos datos son correctos?',
    'extract.confirm': 'Sí, son correctos',
    'extract.retake': 'No, subir otro',
    'extract.reading': 'Leyendo tu documento…',
    'extract.failed': 'No pudimos leer este documento automáticamente; lo revisará una persona.',
    'extract.full_name': 'Nombre completo',
    'extract.document_number': 'Número de documento',
    'extract.date_of_birth': 'Fecha de nacimiento',
    'extract.nationality': 'Nacionalidad',
    'extract.expiry_date': 'Fecha de vencimiento',
    'extract.gender': 'Sexo',
    'select.placeholder': 'Elegir…',
    'country.placeholder': 'Elige un país…',
    'phone.hint': 'Formato internacional, p. ej. +5491122334455',
    'date.hint': 'AAAA-MM-DD',
    'file.current': 'Archivo actual: {name}',
    'liveness.intro': 'Comprobaremos que estás frente a la cámara.',
    'liveness.start': 'Comenzar la prueba',
    'liveness.testBanner': 'Modo de prueba: no se usa la cámara ni se hace una prueba real. El entorno de pruebas decide el resultado.',
    'liveness.testComplete': 'Completar la prueba simulada',
    'liveness.passed': 'Prueba de vida superada.',
    'liveness.failed': 'La prueba no se superó: {message}',
    'liveness.unavailable': 'No se pudo cargar la prueba con cámara. Inténtalo más tarde.',
    'liveness.camera': 'Sigue las instrucciones en pantalla.',
    'parties.name': 'Nombre completo',
    'parties.email': 'Correo electrónico',
    'parties.role': 'Rol',
    'parties.add': 'Agregar persona',
    'parties.added': '{name} agregado. Compártele su enlace.',
    'parties.list': 'Personas agregadas',
    'parties.none': 'Todavía no agregaste a nadie.',
    'parties.counts': '{completed} de {total} terminaron · mínimo {min}, máximo {max}',
    'parties.link': 'Enlace para {name}',
    'parties.copy': 'Copiar enlace',
    'parties.copied': 'Enlace copiado.',
    'parties.share': 'Compartir',
    'parties.regenerate': 'Nuevo enlace',
    'parties.regenerated': 'Se creó un enlace nuevo; el anterior ya no funciona.',
    'parties.delete': 'Quitar',
    'parties.deleted': '{name} quitado.',
    'parties.confirmDelete': '¿Quitar a {name}?',
    'parties.noLink': 'Sin enlace activo',
    'parties.needMore': 'Agrega al menos {min} para continuar.',
    'parties.shareText': 'Completa tu verificación de identidad',
    'party.active': 'Sin terminar',
    'party.completed': 'Terminado',
    'party.manual_review': 'Terminado',
    'party.approved': 'Aprobado',
    'party.rejected': 'Rechazado',
    'party.expired': 'Expirado',
    'party.canceled': 'Cancelado',
    'party.awaiting_client_correction': 'A corregir',
    'party.processing': 'Terminado',
    'correction.title': 'Necesitamos algunos cambios',
    'correction.intro': 'Una persona revisora pidió que corrijas lo siguiente. Todo lo demás ya está listo.',
    'correction.message': 'Mensaje de la revisión',
    'correction.done': 'Enviar la corrección',
    'end.completed.title': '¡Gracias!',
    'end.completed.body': 'Terminaste. Te avisaremos el resultado.',
    'end.review.title': 'En revisión',
    'end.review.body': '¡Gracias! Estamos revisando tu información. Puedes cerrar esta página.',
    'end.approved.title': 'Verificado',
    'end.approved.body': 'Tu identidad fue verificada.',
    'end.rejected.title': 'No pudimos verificarte',
    'end.rejected.body': 'Tu verificación no fue aprobada.',
    'end.reasons': 'Motivos',
    'end.redirect': 'Volver al sitio',
    'testMode': 'Modo de prueba',
  },
};

export const LANGUAGES = Object.keys(STRINGS);
const STORAGE_KEY = 'kyc.lang';

function initialLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // storage may be disabled; the browser's language still applies
  }
  if (LANGUAGES.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

let current = initialLanguage();

export function language() {
  return current;
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered; fine
  }
}

export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/// A byte count for people: "15 MB".
export function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/// A country's name in the current language (the code when the browser cannot name it).
export function countryName(code) {
  try {
    return new Intl.DisplayNames([current], { type: 'region' }).of(code) || code;
  } catch {
    return code;
  }
}
