// Live-mode liveness: mounts AWS's FaceLivenessDetectorCore for a session id from
// POST /public/sessions/{token}/liveness/start. The browser streams video to Rekognition with the
// credentials of an unauthenticated identity of the stack's Cognito identity pool, whose role may
// only call rekognition:StartFaceLivenessSession. The verdict is decided by the API
// (liveness/complete), never here.
import { createRoot } from 'react-dom/client';
import { FaceLivenessDetectorCore } from '@aws-amplify/ui-react-liveness';
import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import { fromCognitoIdentityPool } from '@aws-sdk/credential-provider-cognito-identity';
import '@aws-amplify/ui-react/styles.css';

const SPANISH = {
  hintCenterFaceText: 'Centra tu rostro',
  hintMoveFaceFrontOfCameraText: 'Coloca tu rostro frente a la cámara',
  hintTooFarText: 'Acércate',
  hintHoldFaceForFreshnessText: 'Quédate quieto',
  photosensitivityWarningHeadingText: 'Advertencia de fotosensibilidad',
  startScreenBeginCheckText: 'Comenzar la verificación',
  cancelLivenessCheckText: 'Cancelar',
};

export function mount(container, { sessionId, region, identityPoolId, language, onComplete, onError }) {
  const credentials = fromCognitoIdentityPool({ identityPoolId, client: new CognitoIdentityClient({ region }) });
  const root = createRoot(container);
  root.render(
    <FaceLivenessDetectorCore
      sessionId={sessionId}
      region={region}
      // The TensorFlow.js WebAssembly files are shipped beside this bundle (make package copies
      // them), so no third-party CDN is needed for them.
      config={{ credentialProvider: credentials, binaryPath: new URL('./', import.meta.url).href }}
      displayText={language === 'es' ? SPANISH : undefined}
      onAnalysisComplete={async () => {
        root.unmount();
        onComplete();
      }}
      onError={(error) => onError((error && (error.error?.message || error.state)) || 'error')}
      onUserCancel={() => onError('canceled')}
    />,
  );
  return () => root.unmount();
}
